"""Stage 1: the experts, resumable parallel collection and verified distillation (sfp.data)."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from sfp import paths
from sfp.data import dataset
from sfp.data.collector import (
    CollectionSettings,
    collect,
    finished_indices,
    make_piece,
    piece_name,
    trajectory_randomness,
)
from sfp.data.collector import describe as describe_collection
from sfp.data.distill import describe as describe_distill
from sfp.data.distill import distill, index_ranges
from sfp.data.experts import FixedMazeExpert, SawyerExpert
from sfp.errors import UserError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def dataset_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("D4RL_DATASET_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("MUJOCO_GL", "egl")
    return tmp_path / "datasets"


@pytest.fixture(scope="module")
def sawyer_env():
    env = SawyerExpert().make_env()
    yield env
    env.close()


def rollout(expert, env, traj_len, index=0, seed=0, images=False):
    env_seed, rng = trajectory_randomness(seed, index)
    return expert.rollout(env, rng, env_seed, traj_len, images)


def segments(goals: np.ndarray) -> list[tuple[int, int]]:
    """[(first row, last row)] of the runs of equal goals."""
    starts = np.concatenate([[0], np.flatnonzero(np.any(goals[1:] != goals[:-1], axis=1)) + 1])
    ends = np.append(starts[1:] - 1, len(goals) - 1)
    return list(zip(starts.tolist(), ends.tolist()))


def load_piece(path: Path) -> dict:
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


# --- experts --------------------------------------------------------------------------------------------------
def test_fixed_maze_expert_heads_for_its_target_at_unit_speed_with_small_noise():
    expert = FixedMazeExpert()
    env = expert.make_env()
    piece = rollout(expert, env, 500)
    position, target = env.unscale(piece["observations"]), env.unscale(piece["goals"])
    direction = (target - position) / np.linalg.norm(target - position, axis=1, keepdims=True)
    actions = piece["actions"]
    assert np.abs(actions).max() <= 1.0
    inside = np.abs(actions) < 1.0  # entries the clip did not touch
    residual = (actions - direction)[inside]
    assert abs(residual.mean()) < 0.01
    assert 0.04 < residual.std() < 0.06
    assert np.allclose(np.linalg.norm(actions, axis=1), 1.0, atol=0.25)


def test_fixed_maze_expert_draws_a_new_target_when_within_half_a_unit_or_after_61_steps():
    expert = FixedMazeExpert()
    env = expert.make_env()
    piece = rollout(expert, env, 500, index=3)
    position, target = env.unscale(piece["observations"]), env.unscale(piece["goals"])
    assert np.all(np.abs(target) <= 13.5)
    runs = segments(piece["goals"])
    assert len(runs) > 10  # targets are actually reached (the original's frame bug switched every 61 steps)
    for first, last in runs[:-1]:
        distances = np.linalg.norm(position[first + 1 : last + 2] - target[first], axis=1)
        assert last - first + 1 <= 61
        assert np.all(distances[:-1] > 0.5)  # never switched late
        assert distances[-1] <= 0.5 or last - first + 1 == 61  # switched for a reason


def test_sawyer_expert_clips_the_p_controller_then_adds_noise_and_retargets(sawyer_env):
    expert = SawyerExpert()
    piece = rollout(expert, sawyer_env, 200, index=1)
    hand, goals, actions = piece["observations"][:, :3], piece["goals"], piece["actions"]
    command = np.clip(5.0 * (goals.astype(np.float64) - hand), -1.0, 1.0)
    residual = actions[:, :3] - command
    assert abs(residual.mean()) < 0.005 and 0.015 < residual.std() < 0.025
    assert np.abs(actions).max() > 1.0  # the noise comes after the clip, as in the original
    assert actions[:, 3].min() < -0.7 and actions[:, 3].max() > 0.7  # the gripper dimension is random
    assert np.all((goals >= expert.hand_low - 1e-6) & (goals <= expert.hand_high + 1e-6))
    runs = segments(goals)
    assert len(runs) >= 2
    for first, last in runs:
        reached = np.linalg.norm(piece["observations"][first + 1 : last + 1, :3] - goals[first], axis=1)
        assert np.all(reached > 0.05)  # a target is kept until the hand comes within 0.05
    for (_, last), (next_first, _) in zip(runs, runs[1:]):
        assert np.linalg.norm(hand[next_first] - goals[last]) <= 0.05


# --- collection -----------------------------------------------------------------------------------------------
def test_a_piece_depends_only_on_its_index_not_on_the_worker_count(tmp_path):
    one = collect("point-maze", num_trajs=4, traj_len=60, workers=1, folder=tmp_path / "one", progress=False)
    two = collect("point-maze", num_trajs=4, traj_len=60, workers=2, folder=tmp_path / "two", progress=False)
    assert one.made == two.made == 4
    for index in range(4):
        a = load_piece(tmp_path / "one" / piece_name("maze", index))
        b = load_piece(tmp_path / "two" / piece_name("maze", index))
        assert a.keys() == b.keys() and all(np.array_equal(a[key], b[key]) for key in a)
    first, second = (load_piece(tmp_path / "one" / piece_name("maze", i))["actions"] for i in (0, 1))
    assert not np.array_equal(first, second)


def test_a_killed_collection_resumes_to_the_same_dataset(tmp_path, dataset_dir):
    command = [
        sys.executable,
        str(REPO / "scripts" / "collect_dataset.py"),
        "--env",
        "point-maze",
        "--num_trajs",
        "400",
        "--traj_len",
        "100",
        "--images",
    ]
    process = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = paths.pieces_dir("maze")
    deadline = time.time() + 30
    while time.time() < deadline and not (folder.is_dir() and len(finished_indices(folder, "maze")) >= 3):
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    made_before = finished_indices(folder, "maze")
    assert len(made_before) >= 3
    torn = folder / f".{piece_name('maze', max(made_before) + 1)}.999999999.tmp"  # from a dead process
    torn.write_bytes(b"half a piece")
    wanted = max(made_before) + 4

    resumed = collect("point-maze", num_trajs=wanted, traj_len=100, images=True, progress=False)
    assert resumed.made == wanted - len(made_before) and not torn.exists()
    distill("point-maze", progress=False)
    reference_folder, reference_file = tmp_path / "reference", tmp_path / "reference.hdf5"
    collect("point-maze", num_trajs=wanted, traj_len=100, images=True, folder=reference_folder, progress=False)
    distill("point-maze", folder=reference_folder, output=reference_file, progress=False)
    with h5py.File(paths.dataset_file("maze")) as got, h5py.File(reference_file) as expected:
        assert set(got) == set(expected) == set(dataset.VECTOR_KEYS) | {dataset.IMAGE_KEY}
        for key in expected:
            assert np.array_equal(got[key][()], expected[key][()]), key
        assert got.attrs["pieces_hash"] == expected.attrs["pieces_hash"]


def test_a_folder_keeps_the_options_it_was_started_with(tmp_path):
    collect("point-maze", num_trajs=1, traj_len=20, folder=tmp_path, progress=False)
    with pytest.raises(UserError, match="recorded options"):
        collect("point-maze", num_trajs=2, traj_len=20, seed=1, folder=tmp_path, progress=False)
    more = collect("point-maze", num_trajs=2, traj_len=20, folder=tmp_path, progress=False)
    assert (more.already_done, more.made) == (1, 1)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"traj_len": 501}, "--traj_len"),
        ({"traj_len": 1}, "--traj_len"),
        ({"num_trajs": 0}, "--num_trajs"),
        ({"workers": 0}, "--workers"),
        ({"seed": -1}, "--seed"),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path, options, message):
    with pytest.raises(UserError, match=message):
        collect("point-maze", **{"num_trajs": 1, **options}, folder=tmp_path / "pieces", progress=False)
    assert not (tmp_path / "pieces").exists()


def test_the_collect_script_exits_with_one_clear_line(capsys):
    spec = importlib.util.spec_from_file_location("collect_dataset", REPO / "scripts" / "collect_dataset.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit) as stop:
        script.main(["--env", "point-maze", "--traj_len", "1000"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith("error: --traj_len 1000")


# --- distillation ---------------------------------------------------------------------------------------------
def rewrite(path: Path, **changes) -> None:
    piece = {**load_piece(path), **changes}
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **piece)


def rewrite_meta(path: Path, **changes) -> None:
    rewrite(path, meta=np.array(json.dumps({**json.loads(str(load_piece(path)["meta"])), **changes})))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_bytes(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 3
    raw[middle : middle + 16] = bytes(16)
    path.write_bytes(bytes(raw))


def with_nan(path: Path) -> None:
    observations = load_piece(path)["observations"]
    observations[5, 1] = np.nan
    rewrite(path, observations=observations)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (truncate, "not a readable piece"),
        (flip_bytes, "unreadable"),
        (lambda path: rewrite(path, actions=np.zeros((20, 3), np.float32)), "actions has 3 entries"),
        (lambda path: rewrite(path, actions=np.zeros((19, 2), np.float32)), "different or zero row counts"),
        (lambda path: rewrite(path, goals=np.zeros((20, 2))), "dtype float64"),
        (with_nan, "non-finite"),
        (lambda path: rewrite_meta(path, suite="meta-world"), "suite 'meta-world'"),
        (lambda path: rewrite(path, timeouts=np.ones(20, bool)), "trajectory ends"),
        (lambda path: rewrite_meta(path, seed=7), "seed"),
        (lambda path: rewrite(path, meta=np.array("{}")), "metadata"),
    ],
)
def test_distill_names_a_bad_piece_and_writes_nothing(corrupt, message):
    collect("point-maze", num_trajs=3, traj_len=20, progress=False)
    bad = paths.pieces_dir("maze") / piece_name("maze", 1)
    corrupt(bad)
    with pytest.raises(UserError, match=message) as error:
        distill("point-maze", progress=False)
    assert str(bad) in str(error.value) and "delete it and re-run" in str(error.value)
    assert not paths.dataset_file("maze").exists()


def test_distill_reports_gaps_skips_unchanged_pieces_and_replaces_stale_output():
    collect("point-maze", num_trajs=4, traj_len=20, progress=False)
    (paths.pieces_dir("maze") / piece_name("maze", 2)).unlink()
    with pytest.raises(UserError, match="holds 3 of the 4 trajectories"):  # refused unless accepted
        distill("point-maze", progress=False)
    partial = distill("point-maze", progress=False, allow_partial=True)
    assert (partial.status, partial.missing, partial.num_trajectories, partial.rows) == ("written", [2], 3, 60)
    assert "trajectories 2 are missing" in describe_distill(partial, "point-maze")
    assert distill("point-maze", progress=False, allow_partial=True).status == "unchanged"
    collect("point-maze", num_trajs=4, traj_len=20, progress=False)
    full = distill("point-maze", progress=False)
    assert (full.status, full.missing, full.rows) == ("replaced", [], 80)
    assert "made from 3 trajectories" in describe_distill(full, "point-maze")
    data = dataset.load_dataset("maze")
    assert data.num_trajectories == 4 and np.array_equal(data.bounds, [0, 20, 40, 60, 80])
    with h5py.File(data.path) as handle:
        assert handle.attrs["indices"] == "0-3" and handle.attrs["suite"] == "point-maze"
        assert handle.attrs["expert_version"] == 2 and handle.attrs["traj_len"] == 20


def test_index_ranges_compresses_runs():
    assert index_ranges([0, 1, 2, 5, 7, 8]) == "0-2, 5, 7-8"
    assert index_ranges([4]) == "4"


def test_images_are_kept_and_readable_frame_by_frame():
    collect("point-maze", num_trajs=2, traj_len=30, images=True, progress=False)
    distill("point-maze", progress=False)
    second = load_piece(paths.pieces_dir("maze") / piece_name("maze", 1))
    data = dataset.load_dataset("maze", with_images=True)
    try:
        assert data.images.shape == (60, 3, 64, 64) and data.images.dtype == np.uint8
        for row in (0, 29, 30, 59):
            frame = data.images[row]
            assert frame.shape == (3, 64, 64)
            assert np.any((frame[0] == 255) & (frame[1] == 0))  # the red agent is drawn
        assert np.array_equal(data.images[31], second["images"][1])
    finally:
        data.close()


def test_meta_world_collection_with_two_workers(sawyer_env):
    summary = collect("meta-world", num_trajs=2, traj_len=50, workers=2, progress=False)
    assert summary.made == 2
    distill("meta-world", progress=False)
    data = dataset.load_dataset("sawyer")
    assert len(data) == 100 and data.num_trajectories == 2
    assert (data.observations.shape, data.actions.shape, data.goals.shape) == ((100, 36), (100, 4), (100, 3))
    settings = CollectionSettings("meta-world", seed=0, traj_len=50, images=False)
    here = make_piece(SawyerExpert(), sawyer_env, settings, index=1)  # made in this process, not in a worker
    for key in dataset.VECTOR_KEYS:
        assert np.array_equal(here[key], data.trajectory(1)[key]), key


def test_a_trajectory_claimed_by_a_live_collector_is_left_to_it(tmp_path):
    collect("point-maze", num_trajs=1, traj_len=20, folder=tmp_path, progress=False)
    (tmp_path / f".{piece_name('maze', 2)}.claim").write_text(str(os.getppid()))  # a live process
    (tmp_path / f".{piece_name('maze', 3)}.claim").write_text("999999999")  # a dead one
    summary = collect("point-maze", num_trajs=5, traj_len=20, folder=tmp_path, progress=False)
    assert (summary.made, summary.busy_elsewhere) == (3, [2])
    assert finished_indices(tmp_path, "maze") == {0, 1, 3, 4}
    assert "another running collector" in describe_collection(summary, "point-maze")


def test_a_maze_collection_never_imports_mujoco_or_metaworld(tmp_path):
    program = (
        "import sys; from pathlib import Path; from sfp.data.collector import collect; "
        f"collect('point-maze', num_trajs=2, traj_len=10, folder=Path({str(tmp_path)!r}), progress=False); "
        "print(sorted(name for name in ('mujoco', 'metaworld') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
