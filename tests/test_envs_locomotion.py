"""Locomotion tasks: sparse reward, observation variants, action permutation, truncation, seeding."""

import gymnasium
import numpy as np
import pytest

from sfp.envs import make_env
from sfp.envs.locomotion import LocomotionEnv
from sfp.errors import UserError


def _rollout(env, seed, steps=5):
    """Observations (steps+1, S) of a fixed action sequence after reset(seed)."""
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, *env.action_space.shape))
    return np.stack([obs] + [env.step(a)[0] for a in actions])


def _shift_x(env, dx):
    """Teleport the body by dx along x (positions only; the next step integrates from there)."""
    env.sim.unwrapped.data.qpos[0] += dx


@pytest.mark.parametrize(
    "body,obs_dim,act_dim",
    [
        ("swimmer", 8, 2),
        ("hopper", 11, 3),
        ("walker", 17, 6),
        ("ant", 105, 8),
        ("halfcheetah", 17, 6),
    ],
)
def test_bodies_have_flat_spaces(body, obs_dim, act_dim):
    env = make_env(f"{body}-sparse")
    obs, info = env.reset(seed=0)
    assert env.short_name == body and env.max_steps == 1000
    assert obs.shape == (obs_dim,) and obs.dtype == np.float32 and obs in env.observation_space
    assert env.action_space.shape == (act_dim,)
    assert info["success"] is False


@pytest.mark.parametrize("sparse", [True, False])
def test_sparse_reward_flips_when_displacement_exceeds_sparsity(sparse):
    env = LocomotionEnv("halfcheetah-sparse" if sparse else "halfcheetah", sparsity=3.0)
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape)
    _, reward, *_, info = env.step(zero)
    assert not info["success"]
    if sparse:
        assert reward == 0.0
    _shift_x(env, 3.5)
    _, reward, *_, info = env.step(zero)
    assert info["success"] and info["x_position"] - env.start_x > 3.0
    if sparse:
        assert reward == 1.0
    else:
        assert reward == pytest.approx(info["reward_forward"] + info["reward_ctrl"])  # gymnasium's dense reward


def test_sparse_reward_counts_from_the_episode_start():
    env = LocomotionEnv("swimmer-sparse", sparsity=1.0)
    env.reset(seed=0)
    _shift_x(env, 5.0)
    env.reset(seed=1)  # the teleport is undone by the reset
    _shift_x(env, 0.5)
    assert env.step(np.zeros(2))[1] == 0.0
    _shift_x(env, 1.0)
    assert env.step(np.zeros(2))[1] == 1.0


def test_biased_adds_the_bias():
    clean = _rollout(LocomotionEnv("hopper"), seed=3)
    biased = _rollout(LocomotionEnv("hopper-biased", bias=0.25), seed=3)
    np.testing.assert_allclose(biased - clean, 0.25, atol=1e-5)


def test_noisy_is_seeded_and_differs_from_clean():
    clean = _rollout(LocomotionEnv("hopper"), seed=3)
    noisy = _rollout(LocomotionEnv("hopper-noisy"), seed=3)
    again = _rollout(LocomotionEnv("hopper-noisy"), seed=3)
    other = _rollout(LocomotionEnv("hopper-noisy"), seed=4)
    np.testing.assert_array_equal(noisy, again)
    assert not np.allclose(noisy, other)
    noise = noisy - clean
    assert 1.5 < noise.std() < 2.5 and abs(noise.mean()) < 0.6  # 66 draws of 2*N(0,1)


def test_biased_and_noisy_combine():
    clean = _rollout(LocomotionEnv("hopper"), seed=3, steps=40)
    both = _rollout(LocomotionEnv("hopper-biased-noisy", bias=5.0), seed=3, steps=40)
    offset = both - clean
    assert abs(offset.mean() - 5.0) < 0.3 and 1.7 < offset.std() < 2.3


def test_permute_action_reverses_the_action():
    action = np.array([0.9, -0.4, 0.1, 0.0, -1.0, 0.6], dtype=np.float32)
    straight, permuted = LocomotionEnv("walker"), LocomotionEnv("walker", permute_action=True)
    straight.reset(seed=2)
    permuted.reset(seed=2)
    obs_reversed = straight.step(action[::-1])[0]
    obs_permuted = permuted.step(action)[0]
    np.testing.assert_array_equal(obs_permuted, obs_reversed)
    assert not np.allclose(obs_permuted, straight.step(action)[0])


def test_truncates_at_1000_steps_without_terminating():
    env = LocomotionEnv("swimmer")  # the swimmer never falls
    env.reset(seed=0)
    zero = np.zeros(2)
    for _ in range(999):
        _, _, terminated, truncated, _ = env.step(zero)
        assert not (terminated or truncated)
    _, _, terminated, truncated, _ = env.step(zero)
    assert truncated and not terminated
    env.reset(seed=0)
    assert env.step(zero)[3] is False


def test_falling_terminates():
    env = LocomotionEnv("hopper")
    env.reset(seed=0)
    env.sim.unwrapped.data.qpos[1] = 0.3  # torso far below the healthy height
    _, _, terminated, truncated, _ = env.step(np.zeros(3))
    assert terminated and not truncated


def test_reset_seed_reproduces_episodes():
    first = _rollout(LocomotionEnv("ant-noisy"), seed=7)
    second = _rollout(LocomotionEnv("ant-noisy"), seed=7)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, _rollout(LocomotionEnv("ant-noisy"), seed=8))


def test_not_goal_conditioned():
    env = make_env("hopper-sparse")
    assert isinstance(env.observation_space, gymnasium.spaces.Box)
    with pytest.raises(UserError, match="not goal-conditioned.*--her False"):
        env.compute_reward(np.zeros((4, 11)), np.zeros((4, 11)), None)


def test_unknown_name_is_a_user_error():
    with pytest.raises(UserError, match="not a locomotion task"):
        LocomotionEnv("hopper-dense")


def test_gymnasium_registry_builds_it():
    env = gymnasium.make("sfp/hopper-sparse")
    assert env.unwrapped.short_name == "hopper" and env.unwrapped.sparse
    env.close()
