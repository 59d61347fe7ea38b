"""Action wrappers with a fake prior (a linear map with the sfp.priors.loading.Prior interface) on the point mazes."""

import sys
import types

import numpy as np
import pytest
import torch

from sfp import paths
from sfp.data import dataset
from sfp.envs import make_env
from sfp.errors import UserError
from sfp.rl.action_windows import InitialWindows
from sfp.rl.params import ACTION_PRIORS, RLParams
from sfp.rl.wrappers import (
    ActionRepeatWrapper,
    DenseActionRepeatWrapper,
    EzGreedyWrapper,
    FlowLatentWrapper,
    NStepWrapper,
    ParrotWrapper,
    wrap_action_prior,
)
from sfp.rl.wrappers.latent import decode_latent, uniform_to_gaussian

Z95 = 1.6448536269514722  # Phi^-1(0.95)


class FakePrior(torch.nn.Module):
    """transform(z, cond) = scale * z + mean(cond) per row (cond ignored when None); remembers every cond."""

    def __init__(self, action_dim=2, cond_dim=2, one_step=False, scale=0.5, mode="state+goal"):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(scale), requires_grad=False)
        self.action_dim, self.cond_dim, self.one_step, self.mode = action_dim, cond_dim, one_step, mode
        self.n_step = 1
        self.config = {"mode": mode, "one_step": one_step}
        self.conditions = []

    def transform(self, z, cond):
        self.conditions.append(None if cond is None else cond.clone())
        shift = 0.0 if cond is None else cond.flatten(1).mean(1, keepdim=True)
        return self.scale * z + shift

    def sample(self, cond, num=None):
        return self.transform(torch.randn(len(cond) if cond is not None else num, self.action_dim), cond)


def params(**overrides):
    return RLParams(**overrides)


def dataset_arrays(actions):
    rows = len(actions)
    return {
        "observations": np.zeros((rows, 2), np.float32),
        "actions": actions,
        "goals": np.zeros((rows, 2), np.float32),
        "rewards": np.zeros(rows, np.float32),
        "terminals": np.zeros(rows, bool),
        "timeouts": np.zeros(rows, bool),
    }


def windows_of(actions, n, seed=0):
    """Initial windows drawn from one trajectory holding `actions` (N, A)."""
    return InitialWindows(
        dataset.ExpertData(**dataset_arrays(actions), path=paths.dataset_file("maze")),
        n,
        actions.shape[1],
        random_start=True,
        seed=seed,
    )


def write_maze_dataset(rows=50):
    paths.dataset_dir(create=True)
    dataset.write_dataset(
        paths.dataset_file("maze"), dataset_arrays(np.linspace(-1, 1, rows * 2, dtype=np.float32).reshape(rows, 2))
    )


def test_quantile_mapping_at_the_bounds_and_middle():
    low, high = np.array([-1.0, 0.0]), np.array([1.0, 4.0])
    z = uniform_to_gaussian(np.array([-1.0, 0.0]), low, high)
    assert z.dtype == np.float32 and z == pytest.approx([-Z95, -Z95])
    assert uniform_to_gaussian(np.array([0.0, 2.0]), low, high) == pytest.approx([0.0, 0.0], abs=1e-7)
    assert uniform_to_gaussian(np.array([1.0, 4.0]), low, high) == pytest.approx([Z95, Z95])
    assert uniform_to_gaussian(np.array([3.0, -9.0]), low, high) == pytest.approx([Z95, -Z95])  # clipped first


def test_decode_clips_and_removes_nan():
    prior = FakePrior(scale=10.0)
    low, high = -np.ones(2), np.ones(2)
    action = decode_latent(prior, np.array([0.5, -0.01]), np.zeros(2), low, high)
    assert action.dtype == np.float32 and action == pytest.approx([1.0, -0.1])
    nan = decode_latent(prior, np.array([np.nan, -np.inf]), np.zeros(2), low, high)
    assert nan == pytest.approx([0.0, -1.0])


def test_parrot_state_goal_passes_observation_and_goal():
    env = make_env("corridor-v1")
    prior = FakePrior(cond_dim=4)
    wrapped = ParrotWrapper(env, prior, "state+goal")
    obs, _ = wrapped.reset(seed=1)
    assert wrapped.action_space == env.action_space
    assert wrapped.short_name == "maze" and wrapped.max_steps == 500
    condition = np.concatenate([obs["observation"], obs["desired_goal"]])
    obs2, reward, *_, info = wrapped.step(np.array([1.0, 0.0]))
    assert np.allclose(prior.conditions[-1].numpy(), condition[None])
    expected = np.clip(0.5 * np.array([Z95, 0.0]) + condition.mean(), -1, 1)
    assert info["env_action"] == pytest.approx(expected, abs=1e-6)
    wrapped.step(np.zeros(2))
    assert np.allclose(prior.conditions[-1].numpy()[0, :2], obs2["observation"])
    ag, dg = np.zeros((3, 2)), np.zeros((3, 2))
    assert np.array_equal(wrapped.compute_reward(ag, dg), env.compute_reward(ag, dg))


def test_parrot_state_without_goals_and_one_step():
    env = make_env("room-v1", goal_cond=False)
    prior = FakePrior(cond_dim=2)
    wrapped = ParrotWrapper(env, prior, "state")
    obs, _ = wrapped.reset(seed=0)
    wrapped.step(np.zeros(2))
    assert np.allclose(prior.conditions[-1].numpy(), obs[None])
    unconditional = FakePrior(cond_dim=0, one_step=True)
    wrapped = ParrotWrapper(make_env("room-v1"), unconditional, "none")
    wrapped.reset(seed=0)
    *_, info = wrapped.step(np.array([1.0, -1.0]))
    assert unconditional.conditions[-1] is None and info["env_action"] == pytest.approx([0.5 * Z95, -0.5 * Z95])


def test_parrot_image_passes_the_frame():
    env = make_env("room-v1", visual=True)
    prior = FakePrior(mode="image")
    wrapped = ParrotWrapper(env, prior, "image")
    frame, _ = wrapped.reset(seed=0)
    wrapped.step(np.zeros(2))
    assert prior.conditions[-1].shape == (1, 3, 64, 64)
    assert np.allclose(prior.conditions[-1].numpy()[0], frame)


def test_parrot_action_conditions_on_the_last_executed_action():
    actions = np.array([[0.25, -0.75], [0.5, 0.5], [-0.1, 0.3]], dtype=np.float32)
    prior = FakePrior(mode="action")
    wrapped = ParrotWrapper(make_env("room-v1"), prior, "action", windows=windows_of(actions, 1))
    wrapped.reset(seed=3)
    *_, info = wrapped.step(np.array([0.2, -0.4]))
    first = prior.conditions[-1].numpy()[0]
    assert any(np.array_equal(first, row) for row in actions)  # a dataset action at reset
    wrapped.step(np.zeros(2))
    assert np.allclose(prior.conditions[-1].numpy()[0], info["env_action"])


def test_ez_greedy_without_exploration_executes_the_proposed_action():
    wrapped = EzGreedyWrapper(make_env("room-v1"), epsilon=0.0, seed=0)
    wrapped.reset(seed=0)
    for k in range(20):
        proposed = np.array([np.sin(k), np.cos(k)]) * 0.5
        *_, info = wrapped.step(proposed)
        assert info["executed_action"] == pytest.approx(proposed)


def test_ez_greedy_repeats_the_current_action_for_zipf_runs():
    wrapped = EzGreedyWrapper(make_env("room-v1"), mu=2.0, epsilon=1.0, seed=5)
    wrapped.reset(seed=5)
    runs, start_step = [], 0
    for step in range(3000):
        if wrapped.repeat_left == 0:  # a new run starts now with the action proposed at this step
            runs.append(0)
            start_step = step
        proposed = np.array([step, -step], dtype=np.float32) / 3000
        *_, truncated, info = wrapped.step(proposed)
        assert info["executed_action"] == pytest.approx(np.array([start_step, -start_step]) / 3000)
        runs[-1] += 1
        if truncated:  # a new episode starts a new run
            wrapped.reset()
            assert wrapped.repeat_left == 0
    lengths = np.array(runs[:-1])
    assert lengths.min() >= 1
    # zipf(2): P(run = 1) = 1/zeta(2) = 0.608, P(run = 2) = 0.152
    assert np.mean(lengths == 1) == pytest.approx(6 / np.pi**2, abs=0.06)
    assert np.mean(lengths == 2) == pytest.approx(6 / np.pi**2 / 4, abs=0.05)


def run_episode(env, action):
    env.reset(seed=0)
    rewards, infos, done = [], [], False
    while not done:
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        infos.append(info)
        done = terminated or truncated
    return rewards, infos


def test_nstep_sums_rewards_over_consecutive_sub_actions():
    env = make_env("room-v1", neg_rew=True)
    wrapped = NStepWrapper(env, 3)
    assert wrapped.action_space.shape == (6,) and wrapped.max_steps == 167
    wrapped.reset(seed=0)
    start = env.position
    _, reward, *_, info = wrapped.step(np.array([0.1, 0.0, 0.0, 0.2, -0.3, 0.1]))
    assert env.position == pytest.approx(start + np.array([-0.2, 0.3]))
    assert reward == -3.0 and info["env_steps"] == 3
    rewards, infos = run_episode(wrapped, np.zeros(6))
    assert len(rewards) == 167 and sum(info["env_steps"] for info in infos) == 500
    assert rewards[:-1] == [-3.0] * 166 and rewards[-1] == -2.0
    ag, dg = np.zeros((4, 2)), np.tile([1.0, 1.0], (4, 1))
    assert np.array_equal(wrapped.compute_reward(ag, dg), 3 * env.compute_reward(ag, dg))


def test_nstep_stops_when_the_episode_terminates():
    env = make_env("room-v1", terminate_on_success=True)
    wrapped = NStepWrapper(env, 4)
    wrapped.reset(seed=0)  # start (0.14, -0.23), goal (-13, 13): within 1.2 after 13 diagonal steps
    assert env.goal == pytest.approx([-13, 13])
    rewards, infos = run_episode(wrapped, np.tile([-1.0, 1.0], 4))
    assert [info["env_steps"] for info in infos] == [4, 4, 4, 1] and rewards == [0.0, 0.0, 0.0, 1.0]


def test_diagonal_repeats_the_action():
    env = make_env("room-v1", neg_rew=True)
    wrapped = ActionRepeatWrapper(env, 4)
    assert wrapped.action_space == env.action_space and wrapped.max_steps == 125
    wrapped.reset(seed=0)
    start = env.position
    _, reward, *_, info = wrapped.step(np.array([0.1, -0.05]))
    assert env.position == pytest.approx(start + 4 * np.array([0.1, -0.05]))
    assert reward == -4.0 and info["env_steps"] == 4
    rewards, _ = run_episode(wrapped, np.zeros(2))
    assert rewards == [-4.0] * 125


def test_densediagonal_takes_a_new_action_every_n_steps():
    env = make_env("room-v1", neg_rew=True)
    wrapped = DenseActionRepeatWrapper(env, 3)
    assert wrapped.max_steps == 500
    wrapped.reset(seed=0)
    executed = [wrapped.step(np.array([k, 0.0]) / 10)[-1]["executed_action"][0] for k in range(7)]
    assert executed == pytest.approx([0, 0, 0, 0.3, 0.3, 0.3, 0.6])
    rewards, _ = run_episode(wrapped, np.zeros(2))
    assert rewards == [-1.0] * 500


def test_flow_latent_decodes_n_actions_with_a_rolling_window():
    actions = np.arange(20, dtype=np.float32).reshape(10, 2) / 20
    prior = FakePrior(cond_dim=4, mode="action")
    env = make_env("room-v1")
    wrapped = FlowLatentWrapper(env, prior, 2, windows_of(actions, 2))
    assert wrapped.action_space.shape == (4,) and wrapped.max_steps == 250
    wrapped.reset(seed=1)
    window = wrapped.window.copy()
    assert any(np.array_equal(window, actions[i : i + 2]) for i in range(9))
    *_, info = wrapped.step(np.array([0.2, -0.2, 0.0, 0.4], dtype=np.float32))
    first, second = info["env_actions"]
    assert np.allclose(prior.conditions[-2].numpy()[0], window.reshape(-1))
    assert first == pytest.approx(0.5 * np.array([0.2, -0.2]) + window.mean(), abs=1e-6)
    assert np.allclose(prior.conditions[-1].numpy()[0], np.concatenate([window[1], first]))
    assert np.allclose(wrapped.window, [first, second]) and info["env_steps"] == 2


@pytest.fixture
def fake_prior_module(monkeypatch):
    """Stand-in for sfp.priors.loading: load_prior returns a FakePrior whose dims come from the checkpoint's name."""
    module = types.ModuleType("sfp.priors.loading")
    module.loaded = []

    def load_prior(path, device="cpu"):
        assert path.exists(), f"unexpected checkpoint name {path.name}"
        module.loaded.append(path.name)
        cond_dim = {"state+goal": 4, "state": 2, "action": 2, "image": 0}[path.name.split("_")[3]]
        return FakePrior(cond_dim=0 if "one_step" in path.name else cond_dim, one_step="one_step" in path.name)

    module.load_prior = load_prior
    monkeypatch.setitem(sys.modules, "sfp.priors.loading", module)
    return module


def make_checkpoint(cond, n_step=1, one_step=False):
    paths.flow_dir(create=True)
    paths.prior_checkpoint("maze", "flow", cond, n_step, 1.0, one_step).write_bytes(b"fake")


def test_wrap_action_prior_builds_each_wrapper(fake_prior_module):
    write_maze_dataset()
    for cond in ("state+goal", "state", "action", "image"):
        make_checkpoint(cond)
    make_checkpoint("state+goal", one_step=True)
    env = make_env("corridor-v1")
    assert wrap_action_prior(env, params()) is env
    expected = {
        "ez-greedy": EzGreedyWrapper,
        "nstep": NStepWrapper,
        "diagonal": ActionRepeatWrapper,
        "densediagonal": DenseActionRepeatWrapper,
        "parrot_state": ParrotWrapper,
        "parrot_action": ParrotWrapper,
        "flow": FlowLatentWrapper,
    }
    assert {"none", "parrot_image", *expected} == set(ACTION_PRIORS)  # every row of the table is built here
    for kind, cls in expected.items():
        wrapped = wrap_action_prior(make_env("corridor-v1"), params(action_prior=kind, prior_n_step=1))
        assert type(wrapped) is cls
        wrapped.reset(seed=0)
        wrapped.step(wrapped.action_space.sample())
        assert wrapped.short_name == "maze"
    assert wrap_action_prior(make_env("corridor-v1"), params(action_prior="parrot_state")).condition == "state+goal"
    plain = wrap_action_prior(make_env("corridor-v1", goal_cond=False), params(action_prior="parrot_state"))
    assert plain.condition == "state"
    one_step = wrap_action_prior(make_env("corridor-v1"), params(action_prior="parrot_state", one_step=True))
    assert one_step.condition == "none"
    assert fake_prior_module.loaded[-1] == "maze_primitive_flow_state+goal_1_one_step.pt"
    image = wrap_action_prior(make_env("corridor-v1", visual=True), params(action_prior="parrot_image"))
    assert image.condition == "image"


def test_missing_checkpoint_names_the_training_command():
    with pytest.raises(UserError, match="python flows/train.py --env point-maze .*--mode state\\+goal"):
        wrap_action_prior(make_env("corridor-v1"), params(action_prior="parrot_state"))
    with pytest.raises(UserError, match="--mode action --n_step 3"):
        wrap_action_prior(make_env("corridor-v1"), params(action_prior="flow", prior_n_step=3))


def test_wrap_action_prior_errors(fake_prior_module):
    make_checkpoint("state+goal")
    fake_prior_module.load_prior = lambda path, device="cpu": FakePrior(cond_dim=2)
    with pytest.raises(UserError, match="2-dim condition but this run gives 4"):
        wrap_action_prior(make_env("corridor-v1"), params(action_prior="parrot_state"))
    fake_prior_module.load_prior = lambda path, device="cpu": FakePrior(action_dim=4, cond_dim=4)
    with pytest.raises(UserError, match="4-dim actions but the environment has 2"):
        wrap_action_prior(make_env("corridor-v1"), params(action_prior="parrot_state"))
    with pytest.raises(UserError, match="--visual True"):
        wrap_action_prior(make_env("corridor-v1"), params(action_prior="parrot_image"))
    with pytest.raises(UserError, match="parrot_image"):
        wrap_action_prior(make_env("corridor-v1", visual=True), params(action_prior="parrot_state"))
    with pytest.raises(UserError, match="not one of"):
        wrap_action_prior(make_env("corridor-v1"), params(action_prior="gaussian_flow"))
    with pytest.raises(UserError, match="at least 1"):
        wrap_action_prior(make_env("corridor-v1"), params(action_prior="nstep", prior_n_step=0))
