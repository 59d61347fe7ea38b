"""Task-agnostic data of any Gymnasium environment (sfp.data.gym_collection, sfp.data.gym_experts): a user's
expert given as module:callable collects, resumes to the same pieces, distills and trains a prior; the built-in
pointmaze and fetch experts head for their targets with persistent actions; bad inputs are one line before any
work. The user experts are in tests/user_experts.py."""

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from sfp import paths
from sfp.commands.collect import main as collect_main
from sfp.commands.distill import main as distill_main
from sfp.commands.train_prior import main as train_prior_main
from sfp.data import dataset
from sfp.data.collector import collect_gym, piece_name, trajectory_randomness
from sfp.data.experts import FixedMazeExpert
from sfp.data.gym_collection import GymCollection, default_data_name
from sfp.data.gym_experts import FetchExpert, PointMazeExpert
from sfp.data.statistics import action_statistics, stacked_trajectories
from sfp.errors import UserError
from tests.tiny_runs import tiny_prior

pytest.importorskip("gymnasium_robotics", reason="pip install -r requirements-robotics.txt")

POINTMAZE = "gymnasium_robotics:PointMaze_Open-v3"
FETCH = "gymnasium_robotics:FetchReach-v4"
ORBITER = ["--env", POINTMAZE, "--expert", "user_experts:Orbiter"]


def load_piece(path: Path) -> dict:
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def rollouts(maker, count: int, traj_len: int) -> list[dict]:
    """Pieces 0..count-1 of seed 0, as the collector makes them."""
    env, pieces = maker.make_env(), []
    for index in range(count):
        env_seed, rng = trajectory_randomness(0, index)
        pieces.append(maker.rollout(env, rng, env_seed, traj_len))
    env.close()
    return pieces


def merged(pieces: list[dict]) -> dict:
    return {key: np.concatenate([piece[key] for piece in pieces]) for key in pieces[0]}


def runs(goals: np.ndarray) -> list[tuple[int, int]]:
    """[(first row, last row)] of the runs of one goal."""
    starts = np.concatenate([[0], np.flatnonzero(np.any(goals[1:] != goals[:-1], axis=1)) + 1])
    return list(zip(starts.tolist(), (np.append(starts[1:], len(goals)) - 1).tolist()))


def error_line(capsys) -> str:
    """The one error line of a command that exited (the environments' own notices printed on import aside)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0]


# --- a user's expert, end to end ------------------------------------------------------------------------------
def test_a_user_expert_collects_resumes_distills_and_trains_a_prior(tmp_path, capsys):
    collect_main([*ORBITER, "--num_trajs", "2", "--traj_len", "30"])
    collect_main([*ORBITER, "--num_trajs", "4", "--traj_len", "30"])  # resumed: makes 2 and 3 only
    out = capsys.readouterr().out
    assert "2 trajectories made (2 of 4 were already there)" in out
    assert f"next: python scripts/distill_dataset.py --env {POINTMAZE} --expert user_experts:Orbiter" in out
    folder = paths.pieces_dir("orbiter")
    manifest = json.loads((folder / "collection.json").read_text())
    assert manifest == {
        "suite": "gym",
        "seed": 0,
        "traj_len": 30,
        "images": False,
        "expert": "user_experts:Orbiter",
        "expert_version": 3,
        "env": POINTMAZE,
        "env_kwargs": {},
        "name": "orbiter",
        "num_trajs": 4,
    }
    # one uninterrupted run, in two processes, makes the same pieces
    collect_gym(
        POINTMAZE, "user_experts:Orbiter", num_trajs=4, traj_len=30, workers=2, folder=tmp_path / "once", progress=False
    )
    for index in range(4):
        resumed, once = (load_piece(where / piece_name("orbiter", index)) for where in (folder, tmp_path / "once"))
        assert resumed.keys() == once.keys()
        for key in resumed:
            np.testing.assert_array_equal(resumed[key], once[key], err_msg=key)
    piece = load_piece(folder / piece_name("orbiter", 1))
    assert piece["observations"].shape == (30, 4) and piece["actions"].shape == piece["goals"].shape == (30, 2)
    np.testing.assert_allclose(np.linalg.norm(piece["goals"], axis=1), 1.0, rtol=1e-5)  # Orbiter.target
    assert json.loads(str(piece["meta"]))["expert"] == "user_experts:Orbiter"

    with pytest.raises(SystemExit):  # other options in the same folder: one line
        collect_main([*ORBITER, "--num_trajs", "4", "--traj_len", "30", "--seed", "1"])
    assert "rerun with the recorded options" in error_line(capsys)

    distill_main(ORBITER)
    assert "wrote" in capsys.readouterr().out
    data = dataset.load_dataset("orbiter")
    assert (data.num_trajectories, len(data), data.expert) == (4, 120, None)
    with h5py.File(paths.dataset_file("orbiter")) as handle:
        assert handle.attrs["gym_expert"] == "user_experts:Orbiter" and handle.attrs["env"] == POINTMAZE

    train_prior_main(
        tiny_prior("orbiter", batch_size=32), params_file=Path(__file__).parents[1] / "flows" / "default_params.json"
    )
    assert paths.prior_checkpoint("orbiter", "flow", "action", 1).exists()


def test_a_function_expert_without_target_stores_the_next_achieved_goals_and_longer_episodes(capsys):
    options = ["--env", FETCH, "--expert", "user_experts:lift", "--name", "fetch_lift"]
    collect_main([*options, "--num_trajs", "2", "--env_kwargs", '{"max_episode_steps": 60}'])
    assert "next: python scripts/distill_dataset.py " + " ".join(options) in capsys.readouterr().out
    piece = load_piece(paths.pieces_dir("fetch_lift") / piece_name("fetch_lift", 0))
    assert piece["actions"].shape == (60, 4)  # the episode length asked for through env_kwargs
    np.testing.assert_allclose(piece["goals"][:-1], piece["observations"][1:, :3], atol=1e-6)  # next gripper position
    assert json.loads((paths.pieces_dir("fetch_lift") / "collection.json").read_text())["env_kwargs"] == {
        "max_episode_steps": 60
    }
    distill_main(options)
    assert dataset.load_dataset("fetch_lift").num_trajectories == 2


def test_an_episode_that_ends_early_is_refused_with_the_fix():
    with pytest.raises(UserError, match="ended its episode after .* steps .*--traj_len"):
        collect_gym(
            POINTMAZE, "user_experts:seek_goal", num_trajs=1, env_kwargs={"continuing_task": False}, progress=False
        )


# --- the built-in experts -------------------------------------------------------------------------------------
def test_the_pointmaze_expert_reaches_several_targets_with_persistent_actions():
    pieces = rollouts(GymCollection(POINTMAZE), 2, 300)  # the default expert of PointMaze_Open*
    for piece in pieces:
        actions, goals, position = piece["actions"], piece["goals"], piece["observations"][:, :2]
        assert np.abs(actions).max() <= 1.0
        assert np.all(np.abs(goals) <= PointMazeExpert.high + 1e-6)
        done = runs(goals)[:-1]  # the last run is cut by the trajectory's end
        assert len(done) >= 4
        for first, last in done:
            start, end = (np.linalg.norm(position[row] - goals[first]) for row in (first, last))
            assert end < start and end < 0.5  # the ball moved to the target (reached just after this row)
    stats = action_statistics(merged(pieces))
    assert stats["mean_cosine"] > 0.9 and stats["lag1_autocorr"] > 0.9 and 30 < stats["steps_per_target"] < 80


def test_the_fetch_expert_reaches_targets_holding_a_random_gripper_action():
    pieces = rollouts(GymCollection(FETCH, "fetch"), 3, 50)
    reached = 0
    for piece in pieces:
        actions, goals, gripper = piece["actions"], piece["goals"], piece["observations"][:, :3]
        assert np.abs(actions).max() <= 1.0 and goals.shape == (50, 3)
        assert np.all(np.abs(goals - gripper[0]) <= np.abs(FetchExpert.reach_low).max() + 1e-6)
        done = runs(goals)[:-1]
        assert len(done) >= 2
        for first, last in done:
            start, end = (np.linalg.norm(gripper[row] - goals[first]) for row in (first, last))
            assert end < start
            reached += end < 0.06
            assert np.ptp(actions[first : last + 1, 3]) < 0.2  # one gripper action per target, plus noise
    assert reached >= 5
    assert action_statistics(merged(pieces))["mean_cosine"] > 0.8


def test_statistics_of_collected_rows_equal_those_of_the_stacked_trajectories():
    expert, pieces = FixedMazeExpert(), []
    env = expert.make_env()
    for index in range(4):
        env_seed, rng = trajectory_randomness(0, index)
        pieces.append(expert.rollout(env, rng, env_seed, 120))
    stacked = stacked_trajectories(*(np.stack([p[key] for p in pieces]) for key in ("actions", "goals")))
    rows, trajectories = action_statistics(merged(pieces)), action_statistics(stacked)
    for key in ("steps_per_target", "targets_per_trajectory", "mean_cosine", "lag1_autocorr", "max_abs_action"):
        assert rows[key] == pytest.approx(trajectories[key]), key


def test_data_names_of_experts():
    assert default_data_name("pointmaze") == "pointmaze"
    assert default_data_name("my_pkg.experts:WalkAround") == "walk_around"
    assert default_data_name("m:Policy.act") == "act"
    assert GymCollection(FETCH).data_name == "fetch"


# --- bad inputs: one line, before any work --------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        ([*ORBITER[:3], "no_such_module:wander"], "cannot import the module 'no_such_module'"),
        ([*ORBITER[:3], "user_experts:nothing"], "user_experts has no attribute 'nothing'"),
        ([*ORBITER[:3], "user_experts:NOT_CALLABLE"], "NOT_CALLABLE = 3 is not callable"),
        ([*ORBITER[:3], "user_experts:wrong_shape"], "user_experts:wrong_shape returned shape (3,) on its first step"),
        ([*ORBITER[:3], "user_experts:too_big"], "outside [-1, 1]"),
        ([*ORBITER[:3], "user_experts:not_finite"], "non-finite action"),
        ([*ORBITER[:3], "user_experts:broken"], "user_experts:broken failed on its first step"),
        (
            [*ORBITER[:3], "user_experts:takes_one"],
            "takes_one(observation) cannot be called as expert(observation, rng)",
        ),
        ([*ORBITER[:3], "user_experts:TakesThree"], "TakesThree.__call__(observation, rng, step) cannot be called as"),
        ([*ORBITER[:3], "user_experts:returns_none"], "returned None on its first step; an expert must return real"),
        ([*ORBITER[:3], "user_experts:returns_strings"], "returned ['0.1', '0.2'] on its first step; an expert must"),
        ([*ORBITER[:3], "user_experts:returns_complex"], "on its first step; an expert must return real numbers"),
        (
            [*ORBITER[:3], "exiting_module:wander"],
            "--expert exiting_module:wander: importing exiting_module failed (it called sys.exit(3))",
        ),
        ([*ORBITER[:3], "user_experts:ExitsWhenMade"], "ExitsWhenMade() failed (it called sys.exit())"),
        ([*ORBITER[:3], "wander"], "neither a built-in expert"),
        (["--env", "gymnasium_robotics:PointMaze_Nowhere-v3"], "invalid choice"),
        (["--env", "moon"], "invalid choice: 'moon'"),
        (["--env", FETCH, "--expert", "pointmaze"], "made for the open arena of PointMaze_Open*"),
        (["--env", "Pendulum-v1"], "Pendulum-v1 has no built-in expert"),
        ([*ORBITER, "--name", "Big-Name"], "cannot name a dataset"),
        ([*ORBITER, "--name", "maze"], "the data name of the point-maze suite's expert"),
        ([*ORBITER, "--name", "hopper"], "the data name of imported hopper data"),
        ([*ORBITER, "--name", "fetch"], "the data name of the built-in expert fetch"),
        ([*ORBITER[:3], "user_experts:hopper"], "user_experts:hopper gives the data name 'hopper', which is the"),
        ([*ORBITER[:3], "user_experts:Maze"], "with --name"),
        ([*ORBITER, "--env_kwargs", '{"render_mode": "human"}'], "render_mode is the project's to set"),
        (["--env", FETCH, "--traj_len", "60"], "--env_kwargs '{\"max_episode_steps\": 60}'"),
        ([*ORBITER, "--images"], "frames are stored for the built-in suites"),
        ([*ORBITER, "--env_kwargs", "[1]"], "must be a JSON object"),
        (["--env", "point-maze", "--name", "x"], "--env_kwargs and --name are for Gymnasium ids"),
    ],
)
def test_bad_input_is_one_line_before_any_work(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        collect_main([*argv, "--num_trajs", "1"])
    assert stop.value.code == 2
    assert message in error_line(capsys)
    assert not paths.dataset_dir().exists()


def test_an_expert_that_calls_sys_exit_is_one_line_naming_it(capsys):
    with pytest.raises(SystemExit) as stop:
        collect_main([*ORBITER[:3], "user_experts:exits", "--num_trajs", "1"])
    assert stop.value.code == 2
    assert re.fullmatch(
        r"error: --expert user_experts:exits failed on its first step \(.*user_experts\.py, line \d+\): it called "
        r"sys\.exit\(3\)",
        error_line(capsys),
    )


def test_distill_names_the_collect_command_of_a_missing_gym_collection(capsys):
    with pytest.raises(SystemExit):
        distill_main(ORBITER)
    assert f"collect_dataset.py --env {POINTMAZE} --expert user_experts:Orbiter" in error_line(capsys)
    with pytest.raises(UserError, match=f"collect_dataset.py --env {POINTMAZE} --expert pointmaze"):
        dataset.load_dataset("pointmaze")


def collect_orbiter(count: int, *extra: str) -> None:
    collect_main([*ORBITER, "--num_trajs", str(count), "--traj_len", "20", *extra])


def test_distill_never_replaces_data_it_did_not_make(capsys):
    """An imported dataset (or any file without a record of its pieces) under the collection's name stays as it is."""
    collect_orbiter(2)
    output = paths.dataset_file("orbiter")
    dataset.write_dataset(output, imported_arrays())
    before = output.read_bytes()
    with pytest.raises(SystemExit) as stop:
        distill_main(ORBITER)
    assert stop.value.code == 2 and "was not made from collected pieces" in error_line(capsys)
    assert output.read_bytes() == before


def imported_arrays() -> dict:
    rows = 40
    return {
        "observations": np.zeros((rows, 4), np.float32),
        "actions": np.zeros((rows, 2), np.float32),
        "goals": np.zeros((rows, 2), np.float32),
        "rewards": np.zeros(rows, np.float32),
        "terminals": np.zeros(rows, bool),
        "timeouts": np.arange(rows) % 20 == 19,
    }


@pytest.mark.parametrize("content", ["{bad", "[1, 2]", '{"suite": 5}', '{"suite": "gymnasium", "num_trajs": 0}'])
def test_a_damaged_collection_record_is_refused_not_distilled_partially(content, capsys):
    collect_orbiter(3)
    folder = paths.pieces_dir("orbiter")
    (folder / piece_name("orbiter", 1)).unlink()
    (folder / "collection.json").write_text(content)
    with pytest.raises(SystemExit) as stop:
        distill_main(ORBITER)
    assert stop.value.code == 2 and "collection.json is damaged" in error_line(capsys)
    assert not paths.dataset_file("orbiter").exists()


def test_a_gym_collection_without_its_record_is_refused_unless_partial_is_allowed(capsys):
    collect_orbiter(3)
    folder = paths.pieces_dir("orbiter")
    (folder / piece_name("orbiter", 1)).unlink()
    (folder / "collection.json").unlink()
    with pytest.raises(SystemExit):
        distill_main(ORBITER)
    assert "has no collection.json" in error_line(capsys)
    distill_main([*ORBITER, "--allow_partial"])
    assert dataset.read_dataset(paths.dataset_file("orbiter")).actions.shape == (40, 2)


def test_distill_with_another_env_names_the_recorded_one_and_deletes_nothing(capsys):
    collect_orbiter(1)
    pieces = sorted(paths.pieces_dir("orbiter").glob("*.npz"))
    with pytest.raises(SystemExit):
        distill_main(["--env", "gymnasium_robotics:PointMaze_UMaze-v3", *ORBITER[2:]])
    line = error_line(capsys)
    assert f"distill it with --env {POINTMAZE}" in line and "delete" not in line
    assert sorted(paths.pieces_dir("orbiter").glob("*.npz")) == pieces
