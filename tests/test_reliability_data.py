"""Data and checkpoints that are not what they claim to be, at every entry point that reads them (issue 28).

Each row is (entry point, setup, argv, status, fragment, must not exist): the setup writes a bad file into the
sandbox (tmp_path holds datasets/, flows/, logs/, minari/; see conftest.py), the entry point must exit with
`status` and one line `error: ...` holding `fragment`, and no path matching the globs (relative to tmp_path) may
exist afterwards: no dataset, prior or run directory is written.
"""

import re
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from sfp import paths
from sfp.benchmarks.prior import default_flow_config
from sfp.commands import collect, distill, grid, import_d4rl, import_minari, train, train_prior
from sfp.data import collector
from sfp.data.collector import piece_name
from sfp.data.dataset import VECTOR_KEYS
from sfp.errors import UserError
from sfp.finite import non_finite
from sfp.invocation import command
from sfp.priors.checkpoint import save_checkpoint
from sfp.priors.factory import build_model
from sfp.priors.loading import prior_command
from sfp.rl import checkpoint as run_checkpoint
from tests.test_hostile_inputs import _argv, nothing, run_script, spec_file
from tests.tiny_runs import tiny_prior

COMMANDS = {
    "main": train.main,
    "flows": train_prior.main,
    "collect": collect.main,
    "distill": distill.main,
    "import_d4rl": import_d4rl.main,
    "import_minari": import_minari.main,
    "grid": grid.main,
}
SCRIPTS = {
    "main": "main.py",
    "flows": "flows/train.py",
    "import_d4rl": "scripts/import_d4rl.py",
    "distill": "scripts/distill_dataset.py",
}
MAIN = ["--env", "room-v1", "--use_prior", "True", "--epochs", "1", "--steps_per_epoch", "500", "--num_threads", "1"]
FLOWS = tiny_prior()
NO_MAZE_DATA = ["datasets/maze_primitive.hdf5"]
NO_RUN = ["logs/*"]
NO_PRIOR = ["flows/*.pt", "logs/*"]
NO_HOPPER = ["datasets/hopper_primitive.hdf5"]
NO_IMPORT = ["datasets/*.hdf5"]
MINARI_ID = "sfp/tiny-v0"


# --- bad values -------------------------------------------------------------------------------------------------


def put(key: str, value: float, row: int = 17, column: int = 0):
    """A change that writes `value` into arrays[key] at (row, column)."""

    def change(arrays):
        target = arrays[key].astype(np.float32)
        target[(row, column) if target.ndim == 2 else row] = value
        arrays[key] = target

    change.__qualname__ = f"{key}[{row}]={value}"
    return change


def as_int64(key: str):
    def change(arrays):
        arrays[key] = np.round(arrays[key]).astype(np.int64)

    change.__qualname__ = f"{key}-int64"
    return change


def width(key: str, columns: int):
    def change(arrays):
        arrays[key] = np.zeros((len(arrays[key]), columns), np.float32)

    change.__qualname__ = f"{key}-width{columns}"
    return change


def shorter(key: str):
    def change(arrays):
        arrays[key] = arrays[key][:-1]

    change.__qualname__ = f"{key}-shorter"
    return change


NAN, INF = float("nan"), float("inf")
BAD_VALUES = [  # (change, fragment)
    (put("actions", NAN), "actions hold 1 NaN value (row 17 first)"),
    (put("actions", INF, 3), "actions hold 1 +inf value (row 3 first)"),
    (put("actions", -INF, 0, 1), "actions hold 1 -inf value (row 0 first)"),
    (put("observations", NAN, 5), "observations hold 1 NaN value (row 5 first)"),
    (put("observations", -INF, 39), "observations hold 1 -inf value (row 39 first)"),
    (put("goals", INF, 20), "goals hold 1 +inf value (row 20 first)"),
    (put("rewards", NAN, 2), "rewards hold 1 NaN value (row 2 first)"),
    (as_int64("actions"), "actions are stored as int64, not floats"),
    (as_int64("observations"), "observations are stored as int64, not floats"),
]


# --- setups -----------------------------------------------------------------------------------------------------


def maze_arrays(rows: int = 40) -> dict:
    rng = np.random.default_rng(0)
    return {
        "observations": rng.normal(size=(rows, 2)).astype(np.float32),
        "actions": rng.uniform(-1, 1, (rows, 2)).astype(np.float32),
        "goals": rng.normal(size=(rows, 2)).astype(np.float32),
        "rewards": np.zeros(rows, np.float32),
        "terminals": np.zeros(rows, bool),
        "timeouts": np.arange(rows) % 20 == 19,
    }


def raw_hdf5(path: Path, arrays: dict) -> None:
    """Write the arrays as they are (write_dataset would refuse them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        for key, value in arrays.items():
            handle.create_dataset(key, data=value)


def untrained_prior(nan: bool = False) -> None:
    """The untrained maze action prior main.py --use_prior True loads; with `nan` one weight is NaN."""
    config = {**default_flow_config(2, 1), "short": "maze", "num_blocks": 1, "num_hidden": 8, "pre_mlp_units": 8}
    model = build_model(config)
    if nan:
        with torch.no_grad():
            next(model.parameters()).view(-1)[3] = NAN
    save_checkpoint(paths.prior_checkpoint("maze", "flow", "action", 1), model, config)


def maze_dataset(change, with_prior: bool = False):
    def setup(tmp_path, monkeypatch):
        arrays = maze_arrays()
        change(arrays)
        raw_hdf5(paths.dataset_file("maze"), arrays)
        if with_prior:
            untrained_prior()

    setup.__qualname__ = f"maze-{change.__qualname__}"
    return setup


def nan_prior(tmp_path, monkeypatch):
    paths.dataset_dir(create=True)
    raw_hdf5(paths.dataset_file("maze"), maze_arrays())
    untrained_prior(nan=True)


def d4rl_file(change):
    def setup(tmp_path, monkeypatch):
        rows = 40
        rng = np.random.default_rng(1)
        arrays = {
            "observations": rng.normal(size=(rows, 11)).astype(np.float32),
            "actions": rng.uniform(-1, 1, (rows, 3)).astype(np.float32),
            "rewards": np.ones(rows, np.float32),
            "terminals": np.zeros(rows, bool),
            "timeouts": np.arange(rows) % 20 == 19,
        }
        arrays["next_observations"] = arrays["observations"] + 0.1
        change(arrays)
        raw_hdf5(tmp_path / "hopper-expert-v2.hdf5", arrays)

    setup.__qualname__ = f"d4rl-{change.__qualname__}"
    return setup


def minari_dataset(change=None, damage=None):
    """A two-episode Minari dataset MINARI_ID in $MINARI_DATASETS_PATH (made with Minari's own writer), with
    `change` applied to its step arrays, or its folder damaged by `damage(data folder)`."""

    def setup(tmp_path, monkeypatch):
        import gymnasium
        import minari
        from minari.data_collector.episode_buffer import EpisodeBuffer

        monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
        arrays = maze_arrays(20)
        if change:
            change(arrays)
        box = gymnasium.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        episodes = [
            EpisodeBuffer(
                observations=list(np.concatenate([arrays["observations"][rows], [[0, 0]]])),
                actions=list(arrays["actions"][rows]),
                rewards=list(arrays["rewards"][rows]),
                terminations=[False] * 10,
                truncations=[False] * 9 + [True],
            )
            for rows in (slice(0, 10), slice(10, 20))
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            minari.create_dataset_from_buffers(
                MINARI_ID,
                episodes,
                observation_space=box,
                action_space=box,
                algorithm_name="test",
                author="test",
                author_email="t@t",
                code_permalink="none",
            )
        if damage:
            damage(Path(minari.storage.get_dataset_path(MINARI_ID)) / "data")

    setup.__qualname__ = (
        f"minari-{change.__qualname__}" if change else f"minari-{damage.__qualname__}" if damage else "minari"
    )
    return setup


def metadata_text(text: str):
    def damage(folder: Path):
        (folder / "metadata.json").write_text(text)

    damage.__qualname__ = f"metadata={text[:12]!r}"
    return damage


def missing(name: str):
    def damage(folder: Path):
        (folder / name).unlink()

    damage.__qualname__ = f"no-{name}"
    return damage


def episodes_text(folder: Path):
    (folder / "main_data.hdf5").write_text("not hdf5")


def unfinished_collection(asked: int, kept: list[int]):
    """A maze collection of `asked` trajectories killed (or thinned) so that only the indices `kept` exist."""

    def setup(tmp_path, monkeypatch):
        collector.collect("point-maze", num_trajs=asked, traj_len=20, progress=False)
        for index in set(range(asked)) - set(kept):
            (paths.pieces_dir("maze") / piece_name("maze", index)).unlink()

    setup.__qualname__ = f"collection-{asked}-kept{len(kept)}"
    return setup


MINARI = ["--dataset", MINARI_ID, "--short", "tiny"]
D4RL = ["--file", "{tmp}/hopper-expert-v2.hdf5"]
TOO_MANY = str(collector.max_workers() + 1)

# --- the table: (entry point, setup, argv, status, fragment, globs that must not exist) -------------------------

ROWS = [
    # §1 datasets: every reader refuses what is not finite, not float, or not the suite's width
    *[
        ("import_d4rl", d4rl_file(change), D4RL, 2, fragment, NO_HOPPER)
        for change, fragment in BAD_VALUES
        if "goals" not in fragment
    ],
    (
        "import_d4rl",
        d4rl_file(put("next_observations", NAN, 8)),
        D4RL,
        2,
        "goals hold 1 NaN value (row 8 first)",
        NO_HOPPER,
    ),
    ("import_d4rl", d4rl_file(width("actions", 4)), D4RL, 2, "actions have 4 dimensions but hopper has 3", NO_HOPPER),
    ("import_d4rl", d4rl_file(shorter("rewards")), D4RL, 2, "inconsistent", NO_HOPPER),
    *[("flows", maze_dataset(change), FLOWS, 2, fragment, NO_PRIOR) for change, fragment in BAD_VALUES],
    (
        "flows",
        maze_dataset(width("actions", 3)),
        FLOWS,
        2,
        "actions have 3 entries per row but this suite's have 2",
        NO_PRIOR,
    ),
    ("flows", maze_dataset(shorter("actions")), FLOWS, 2, "inconsistent: row counts", NO_PRIOR),
    *[
        ("main", maze_dataset(change, with_prior=True), MAIN, 2, fragment, NO_RUN)
        for change, fragment in BAD_VALUES[::2]
    ],
    ("main", maze_dataset(width("actions", 4), with_prior=True), MAIN, 2, "actions have 4 entries per row", NO_RUN),
    (
        "main",
        maze_dataset(put("actions", NAN), with_prior=True),
        MAIN + ["--bc_epochs", "1", "--use_prior", "False"],
        2,
        "actions hold 1 NaN value",
        NO_RUN,
    ),
    *[
        ("import_minari", minari_dataset(change), MINARI, 2, fragment, NO_IMPORT)
        for change, fragment in [
            (put("actions", NAN, 12), "actions hold 1 NaN value (row 12 first)"),
            (put("actions", INF, 3, 1), "actions hold 1 +inf value (row 3 first)"),
            (put("observations", -INF, 4), "observations hold 1 -inf value (row 4 first)"),
        ]
    ],
    (
        "import_minari",
        minari_dataset(),
        ["--dataset", MINARI_ID, "--short", "hopper"],
        2,
        "has 2 entries per action but hopper's actions have 3",
        NO_IMPORT,
    ),
    # §1 prior checkpoints: a NaN weight is refused at load, naming the file
    ("main", nan_prior, MAIN, 2, "maze_primitive_flow_action_1.pt: the weight", NO_RUN),
    ("main", nan_prior, MAIN, 2, "holds 1 NaN value", NO_RUN),
    ("flows", nan_prior, FLOWS + ["--diagnose_only", "True"], 2, "holds 1 NaN value", ["logs/*"]),
    (
        "flows",
        nan_prior,
        FLOWS,
        2,
        "holds 1 NaN value (index 1 first): move it away or pass --overwrite True",
        ["logs/*"],
    ),
    # §5 damaged Minari folders
    *[
        ("import_minari", minari_dataset(damage=damage), MINARI, 2, fragment, NO_IMPORT)
        for damage, fragment in [
            (metadata_text("not json {"), "is damaged (JSONDecodeError"),
            (metadata_text(""), "is damaged"),
            (metadata_text("[1, 2]"), "is damaged"),
            (metadata_text('{"dataset_id": "sfp/tiny-v0"}'), "is damaged"),
            (missing("metadata.json"), "is damaged"),
            (missing("main_data.hdf5"), "is damaged"),
            (episodes_text, "is damaged"),
        ]
    ],
    # §5 a killed collection is not distilled into a smaller dataset
    (
        "distill",
        unfinished_collection(4, [0, 1]),
        ["--env", "point-maze"],
        2,
        "holds 2 of the 4 trajectories its collection asked for (missing: 2-3)",
        NO_MAZE_DATA,
    ),
    (
        "distill",
        unfinished_collection(5, [0, 2, 4]),
        ["--env", "point-maze"],
        2,
        "--num_trajs 5 --traj_len 20 --seed 0",
        NO_MAZE_DATA,
    ),
    ("distill", unfinished_collection(3, [2]), ["--env", "point-maze"], 2, "pass --allow_partial", NO_MAZE_DATA),
    # §4 workers are bounded before anything is made
    (
        "collect",
        nothing,
        ["--env", "point-maze", "--workers", "100000", "--num_trajs", "2"],
        2,
        "--workers 100000 is more than this machine can run",
        ["datasets/*"],
    ),
    (
        "collect",
        nothing,
        ["--env", "point-maze", "--workers", TOO_MANY, "--num_trajs", "2"],
        2,
        f"--workers {TOO_MANY}",
        ["datasets/*"],
    ),
    (
        "grid",
        spec_file("name: g\ntasks: [room-v1]\nmethods: [sac]\nseeds: [0]\ndata: {workers: 100000}\n"),
        ["{tmp}/spec.yaml", "--prepare_only"],
        2,
        "--workers 100000",
        ["datasets/*", "logs/*"],
    ),
]
SUBPROCESS_ROWS = [
    ("import_d4rl", d4rl_file(put("actions", NAN)), D4RL, 2, "actions hold 1 NaN value", NO_HOPPER),
    ("flows", maze_dataset(put("actions", INF)), FLOWS, 2, "actions hold 1 +inf value", NO_PRIOR),
    ("main", nan_prior, MAIN, 2, "holds 1 NaN value", NO_RUN),
    (
        "distill",
        unfinished_collection(3, [0]),
        ["--env", "point-maze"],
        2,
        "finish it with the same collect command, python scripts/collect_dataset.py",
        NO_MAZE_DATA,
    ),
]


def _check(status: int, expected: int, stderr: str, fragment: str, tmp_path: Path, absent: list[str]) -> None:
    assert status == expected, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    written = [str(path) for pattern in absent for path in tmp_path.glob(pattern)]
    assert not written, f"written before the error: {written}"


def _row_id(row) -> str:
    entry, setup, argv, *_ = row
    return f"{entry}-{getattr(setup, '__qualname__', 'setup').split('.')[0]}-{' '.join(argv)[:40]!r}"


@pytest.mark.parametrize("entry,setup,argv,status,fragment,absent", ROWS, ids=[_row_id(row) for row in ROWS])
def test_bad_data_is_refused_with_one_line(entry, setup, argv, status, fragment, absent, tmp_path, monkeypatch, capsys):
    setup(tmp_path, monkeypatch)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        COMMANDS[entry](_argv(argv, tmp_path))
    _check(stop.value.code, status, capsys.readouterr().err, fragment, tmp_path, absent)


@pytest.mark.parametrize(
    "entry,setup,argv,status,fragment,absent", SUBPROCESS_ROWS, ids=[_row_id(row) for row in SUBPROCESS_ROWS]
)
def test_bad_data_through_the_scripts(entry, setup, argv, status, fragment, absent, tmp_path, monkeypatch):
    setup(tmp_path, monkeypatch)
    result = run_script(SCRIPTS[entry], argv, tmp_path)
    _check(result.returncode, status, result.stderr, fragment, tmp_path, absent)


# --- the same checks from the library, and what they let through ------------------------------------------------


def test_a_partial_collection_is_distilled_only_when_accepted(capsys):
    unfinished_collection(4, [0, 1, 3])(None, None)
    with pytest.raises(SystemExit):
        distill.main(["--env", "point-maze"])
    assert not paths.dataset_file("maze").exists()
    distill.main(["--env", "point-maze", "--allow_partial"])
    out = capsys.readouterr().out
    assert "trajectories 2 are missing" in out and "3 trajectories, 60 rows" in out
    collector.collect("point-maze", num_trajs=4, traj_len=20, progress=False)  # finishing it makes distill pass
    distill.main(["--env", "point-maze"])
    assert "4 trajectories, 80 rows" in capsys.readouterr().out


def test_a_collection_asked_again_for_fewer_is_complete():
    """The count of the last collect command is the one distill checks."""
    unfinished_collection(6, [0, 1])(None, None)
    collector.collect("point-maze", num_trajs=2, traj_len=20, progress=False)
    distill.main(["--env", "point-maze"])
    assert paths.dataset_file("maze").exists()


def test_valid_data_passes_and_costs_one_sum():
    assert non_finite(np.full((1000, 3), 3e38, np.float32)) is None  # the sum overflows: counted exactly
    assert non_finite(np.array([[1.0, NAN], [INF, -INF]])) == "1 NaN and 1 +inf and 1 -inf values (row 0 first)"
    assert non_finite(np.arange(5)) is None


def test_identical_priors_are_identical_files(tmp_path):
    config = {**default_flow_config(2, 1), "num_blocks": 1, "num_hidden": 8, "pre_mlp_units": 8}
    torch.manual_seed(0)
    model = build_model(config)
    first = save_checkpoint(tmp_path / "a" / "prior.pt", model, config).read_bytes()
    second = save_checkpoint(tmp_path / "b" / "other-name.pt", model, config).read_bytes()
    assert first == second


def test_identical_run_states_are_identical_files(tmp_path):
    state = {"agent": {"ac": {"w": torch.arange(6.0)}}, "buffer": np.arange(4), "t": 3}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        run_checkpoint.save_checkpoint(tmp_path / name, state)
    assert (tmp_path / "a" / "checkpoint.pt").read_bytes() == (tmp_path / "b" / "checkpoint.pt").read_bytes()


@pytest.mark.parametrize("value, fragment", [(NAN, "1 NaN value"), (INF, "1 +inf value"), (-INF, "1 -inf value")])
def test_a_run_checkpoint_with_non_finite_weights_is_refused(tmp_path, value, fragment):
    weights = torch.zeros(3, 4)
    weights[2, 1] = value
    run_checkpoint.save_checkpoint(tmp_path, {"agent": {"ac": {"pi.weight": weights}}, "t": 0})
    with pytest.raises(UserError, match=re.escape(f"checkpoint.pt: the agent's 'ac.pi.weight' holds {fragment}")):
        run_checkpoint.load_checkpoint(tmp_path)


@pytest.mark.parametrize(
    "argv0, collect_line, prior_line",
    [
        ("/usr/local/bin/sfp-collect", "next: sfp-distill --env point-maze", "sfp-train-prior --env point-maze"),
        ("sfp-train", "next: sfp-distill", "sfp-train-prior --env"),
        ("scripts/collect_dataset.py", "next: python scripts/distill_dataset.py", "python flows/train.py --env"),
        ("main.py", "next: python scripts/distill_dataset.py", "python flows/train.py --env"),
    ],
)
def test_messages_name_the_command_the_user_has(monkeypatch, argv0, collect_line, prior_line):
    monkeypatch.setattr(sys, "argv", [argv0])
    summary = collector.CollectionSummary(Path("x"), 2, 2)
    assert collect_line in collector.describe(summary, "point-maze")
    assert prior_command("maze", "flow", "action", 1).startswith(prior_line)
    assert command("sfp-import-d4rl") in ("sfp-import-d4rl", "python scripts/import_d4rl.py")


def test_every_dataset_key_is_checked():
    """A new key in the format must get a rule in check_arrays."""
    from sfp.data.dataset import DTYPE_KINDS

    assert set(DTYPE_KINDS) == set(VECTOR_KEYS)
