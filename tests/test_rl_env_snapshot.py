"""Random state of environments across processes: a freshly built env continues exactly as the saved one."""

import gymnasium as gym
import numpy as np
import pytest

import sfp.envs  # noqa: F401  (registers sfp/*)
from sfp.rl.env_snapshot import replay_episode, restore_rng, rng_snapshot


@pytest.mark.parametrize("task", ["corridor-v1", "window-close-v2"])
def test_a_fresh_env_restored_from_a_snapshot_resets_like_the_saved_one(task):
    used = gym.make(f"sfp/{task}")
    used.reset(seed=3)
    used.step(used.action_space.sample())
    snapshot = rng_snapshot(used)
    fresh = gym.make(f"sfp/{task}")  # never reset: gymnasium has not made its generators yet
    restore_rng(fresh, snapshot)
    for _ in range(2):
        np.testing.assert_equal(used.reset()[0], fresh.reset()[0])


def test_replaying_an_episode_rebuilds_the_simulator_state():
    env = gym.make("sfp/window-close-v2")
    env.reset(seed=5)
    snapshot = rng_snapshot(env)
    first, _ = env.reset()
    actions = [np.full(4, 0.3, dtype=np.float32)] * 5
    seen = [first] + [env.step(a)[0] for a in actions]
    replayed = replay_episode(gym.make("sfp/window-close-v2"), None, snapshot, actions)
    np.testing.assert_equal(seen, replayed)


def test_a_generator_on_a_missing_part_of_the_env_is_an_error():
    env = gym.make("sfp/corridor-v1")
    state = np.random.default_rng(0).bit_generator.state
    with pytest.raises(RuntimeError, match="no longer has the random generator .nowhere.inner._np_random"):
        restore_rng(env, {".nowhere.inner._np_random": state})


class _UserEnv(gym.Env):
    """An env from a package the project does not know (here: tests), drawing from a generator on a part of its own."""

    observation_space = gym.spaces.Box(-10, 10, (2,))
    action_space = gym.spaces.Box(-1, 1, (2,))

    def __init__(self):
        self.body = _Body()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self.body.rng = np.random.default_rng(seed + 1)
        return self.body.rng.uniform(-1, 1, 2).astype(np.float32), {}

    def step(self, action):
        return (self.body.rng.normal(size=2) + self.np_random.normal(size=2)).astype(np.float32), 0.0, False, False, {}


class _Body:
    def __init__(self):
        self.rng = np.random.default_rng()


def test_the_generators_of_an_env_from_any_package_are_captured():
    used = gym.wrappers.TimeLimit(_UserEnv(), 50)
    used.reset(seed=4)
    used.step(used.action_space.sample())
    snapshot = rng_snapshot(used)
    assert set(snapshot) == {".env._np_random", ".env.body.rng"}
    first, _ = used.reset()
    actions = [np.zeros(2, np.float32)] * 3
    seen = [first] + [used.step(a)[0] for a in actions]
    np.testing.assert_equal(seen, replay_episode(gym.wrappers.TimeLimit(_UserEnv(), 50), None, snapshot, actions))
