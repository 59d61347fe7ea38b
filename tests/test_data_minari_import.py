"""Minari import on datasets recorded in the test with Minari's DataCollector from real rollouts of room-v1:
rows, trajectory ends, goals, cutting, errors, and a prior that trains on the result with flows/train.py."""

import json
import runpy
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from minari import DataCollector

import sfp.envs  # noqa: F401 (registers sfp/room-v1)
from sfp import paths
from sfp.commands.train_prior import main as train_main
from sfp.data import dataset
from sfp.data.minari_import import import_minari
from sfp.errors import UserError
from tests.tiny_runs import tiny_prior

pytest.importorskip("jax", reason="Minari's DataCollector needs jax: pip install -r requirements-test.txt")

import_main = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "import_minari.py"))["main"]
LIMIT = 30  # the time limit of the recorded episodes; the goal-seeking episodes end earlier by success


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    return tmp_path / "minari"


def _seek_goal(obs):
    """Unit step towards the goal (room-v1 scales both axes alike, so the direction is the scaled one)."""
    delta = obs["desired_goal"] - obs["observation"]
    return (delta / np.linalg.norm(delta)).astype(np.float32)


class PositionOnly(gymnasium.ObservationWrapper):
    """Shows the agent only its position; the scripted policy still reads the goal from `last_dict`."""

    def __init__(self, env):
        super().__init__(env)
        self.observation_space = env.observation_space["observation"]
        self.last_dict = None

    def observation(self, observation):
        self.last_dict = observation
        return observation["observation"]


def record(dataset_id: str, kinds: list[str], goal_cond: bool) -> list[dict]:
    """Run one room-v1 episode per kind ('seek': towards the goal, terminated on success; 'random': uniform
    actions, truncated at LIMIT) through Minari's own DataCollector, store them as the local Minari dataset
    `dataset_id`, and return what was recorded."""
    env = gymnasium.make("sfp/room-v1", goal_cond=True, terminate_on_success=True, max_episode_steps=LIMIT)
    if not goal_cond:
        env = PositionOnly(env)
    collector = DataCollector(env, record_infos=False)
    collector.action_space.seed(0)
    episodes = []
    for index, kind in enumerate(kinds):
        obs, _ = collector.reset(seed=index)
        steps = {"obs": [obs], "actions": [], "rewards": [], "terminations": [], "truncations": []}
        done = False
        while not done:
            seen = obs if goal_cond else env.last_dict
            action = _seek_goal(seen) if kind == "seek" else collector.action_space.sample()
            obs, reward, terminated, truncated, _ = collector.step(action)
            done = terminated or truncated
            for key, value in zip(
                ("obs", "actions", "rewards", "terminations", "truncations"),
                (obs, action, reward, terminated, truncated),
            ):
                steps[key].append(value)
        observations = (
            {key: np.stack([o[key] for o in steps["obs"]]) for key in obs} if goal_cond else np.stack(steps["obs"])
        )
        episodes.append({**steps, "obs": observations, "actions": np.stack(steps["actions"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Minari's reminders to fill in author, description, ...
        collector.create_dataset(dataset_id=dataset_id, algorithm_name="room-v1 scripted")
    collector.close()
    return episodes


def test_whole_episodes_keep_every_step_and_their_ends():
    episodes = record("sfp/room/mixed-v0", ["random", "seek", "random"], goal_cond=False)
    lengths = [len(e["actions"]) for e in episodes]
    assert lengths[0] == lengths[2] == LIMIT and lengths[1] < LIMIT  # the seeking episode succeeded
    summary = import_minari("sfp/room/mixed-v0", "room_mixed")
    assert summary.output == paths.dataset_file("room_mixed")
    assert (summary.episodes, summary.trajectories, summary.rows) == (3, 3, sum(lengths))
    data = dataset.load_dataset("room_mixed")
    np.testing.assert_array_equal(data.bounds, np.cumsum([0, *lengths]))
    np.testing.assert_array_equal(np.flatnonzero(data.terminals), [lengths[0] + lengths[1] - 1])  # the success
    np.testing.assert_array_equal(np.flatnonzero(data.timeouts), [lengths[0] - 1, sum(lengths) - 1])
    for i, episode in enumerate(episodes):
        rows = data.trajectory(i)
        np.testing.assert_allclose(rows["observations"], episode["obs"][:-1])
        np.testing.assert_allclose(rows["goals"], episode["obs"][1:])  # the next observations, as for D4RL
        np.testing.assert_allclose(rows["actions"], episode["actions"])
        np.testing.assert_allclose(rows["rewards"], episode["rewards"])
    assert data.rewards[lengths[0] + lengths[1] - 1] == 1.0


def test_traj_len_cuts_episodes_and_max_trajs_stops_early():
    episodes = record("sfp/room/cut-v0", ["seek", "random", "random"], goal_cond=False)
    first = len(episodes[0]["actions"])
    summary = import_minari("sfp/room/cut-v0", "room_cut", traj_len=10, max_trajs=3)
    # the seeking episode gives pieces of 10 and first - 10 rows, the next episode one piece of 10; the third
    # episode is not needed
    assert (summary.episodes, summary.trajectories, summary.rows) == (2, 3, first + 10)
    data = dataset.load_dataset("room_cut")
    np.testing.assert_array_equal(data.bounds, [0, 10, first, first + 10])
    np.testing.assert_array_equal(np.flatnonzero(data.terminals), [first - 1])  # only the real success
    np.testing.assert_array_equal(np.flatnonzero(data.timeouts), [9, first + 9])
    np.testing.assert_allclose(data.observations[first:], episodes[1]["obs"][:10])
    np.testing.assert_allclose(data.goals[:first], episodes[0]["obs"][1:])


def test_dict_observations_take_the_desired_goal():
    episodes = record("sfp/room/goals-v0", ["seek", "random"], goal_cond=True)
    import_minari("sfp/room/goals-v0", "room_goals")
    data = dataset.load_dataset("room_goals")
    for i, episode in enumerate(episodes):
        rows = data.trajectory(i)
        np.testing.assert_allclose(rows["observations"], episode["obs"]["observation"][:-1])
        np.testing.assert_allclose(rows["goals"], episode["obs"]["desired_goal"][:-1])
    assert data.observations.shape == data.goals.shape == (len(data), 2)


def test_flows_train_trains_a_prior_on_the_import():
    record("sfp/room/prior-v0", ["seek", "random"] * 3, goal_cond=False)
    import_main(["--dataset", "sfp/room/prior-v0", "--short", "room_prior"])
    train_main(
        tiny_prior("room_prior", batch_size=32),
        params_file=Path(__file__).parents[1] / "flows" / "default_params.json",
    )
    checkpoint = paths.prior_checkpoint("room_prior", "flow", "action", 1)
    assert checkpoint.exists()
    log = paths.run_dir("flows_room_prior_flow_action_1", 1)
    params = json.loads((log / "params.json").read_text())
    assert params["dataset"] == str(paths.dataset_file("room_prior"))
    assert params["train_trajectories"] + params["val_trajectories"] == 6


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--dataset", "D4RL/pen/human-v2", "--short", "pen_human"], "minari download D4RL/pen/human-v2"),
        (["--dataset", "sfp/room/any-v0", "--short", "Pen-Human"], "cannot name a dataset"),
        (["--dataset", "sfp/room/any-v0", "--short", "pen", "--traj_len", "0"], "--traj_len (0) must be at least 1"),
    ],
)
def test_bad_input_is_one_line_before_any_work(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        import_main(argv)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in error and error.count("\n") == 1
    assert not paths.dataset_dir().exists()


def test_an_existing_dataset_needs_overwrite():
    record("sfp/room/twice-v0", ["seek", "random"], goal_cond=False)
    import_minari("sfp/room/twice-v0", "twice")
    with pytest.raises(UserError, match="--overwrite"):
        import_minari("sfp/room/twice-v0", "twice")
    assert import_minari("sfp/room/twice-v0", "twice", max_trajs=1, overwrite=True).trajectories == 1


def test_flows_train_names_the_import_for_an_unknown_env():
    with pytest.raises(UserError, match="import_minari"):
        paths.short_name("no_such_data")
