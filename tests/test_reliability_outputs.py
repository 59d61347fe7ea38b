"""Output locations are checked before any work (issue 28, items 2 and 4): one row per output a user can name.

Each row is (entry point, setup, argv, status, fragment, must not exist, must exist). A row with status 2 must
print exactly one line `error: ...` holding the fragment, and nothing else; a row with status 0 prints the fragment
on stdout. After every row, the paths of "must not exist" are absent (no half-written eval_*.json, no `.md` beside
a directory, no run directory), the paths of "must exist" start with the given bytes (the magic of a GIF or MP4,
or a user's file kept as it was), and no hidden temporary file is left anywhere in the sandbox. `{tmp}` is the
sandbox (tmp_path: datasets/, flows/ and logs/, see conftest.py) and `{run}` a copy of a tiny trained run in it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sfp import paths
from sfp.commands import evaluate, plot, plot_exploration, train
from sfp.errors import UserError
from sfp.rl.params import load_rl_params
from sfp.rl.run import run
from tests.tiny_runs import tiny_run

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {"evaluate": evaluate.main, "plot": plot.main, "plot_exploration": plot_exploration.main, "main": train.main}
SCRIPTS = {"evaluate": "scripts/evaluate.py", "plot": "scripts/plot.py", "main": "main.py"}
TINY = tiny_run(max_ep_len=40)
MINE = b"a user's own file\n"
MP4, GIF = b"\x00\x00\x00", b"GIF89a"  # an MP4 starts with a box size (then 'ftyp', checked in the test)
NEW = b""  # "must exist" of a written file whose first bytes are not checked; it must not be the user's file
EVAL = "{run}/eval_*.json"
DIR_NOT_FILE, UNWRITABLE, SUFFIX = "is a file, not a directory", "cannot create files in", "must end in .mp4 or .gif"
IS_DIR, RANGE = "is a directory, where a file would be written", "is out of range"
PROC = Path("/proc/self").is_dir()  # a place nobody can create files in, on Linux, root included
ROOT_USER = os.geteuid() == 0  # root writes into directories without write permission


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny SAC run on the corridor maze (it writes visitation.npz, so plot_exploration can read it too)."""
    root = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SFP_LOG_DIR", str(root))
        params, notes = load_rl_params(TINY + ["--exp_name", "tiny"])
        run(params, notes)
    return root / "tiny_s0"


# --- setups (tmp_path is the sandbox) -------------------------------------------------------------------------------


def nothing(tmp_path, monkeypatch):
    pass


def plain_file(tmp_path, monkeypatch):
    (tmp_path / "plain").write_bytes(MINE)


def user_file(name: str):
    def setup(tmp_path, monkeypatch):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(MINE)

    return setup


def directory(name: str):
    def setup(tmp_path, monkeypatch):
        (tmp_path / name).mkdir(parents=True)

    return setup


def read_only(name: str):
    def setup(tmp_path, monkeypatch):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / name).chmod(0o500)

    return setup


def log_dir_at(where: str):
    def setup(tmp_path, monkeypatch):
        (tmp_path / "plain").write_bytes(MINE)
        monkeypatch.setenv("SFP_LOG_DIR", where.replace("{tmp}", str(tmp_path)))

    return setup


def failing(target: str, error: Exception):
    """The run fails after its directory was claimed (config.json and provenance.json written), before step 1."""

    def setup(tmp_path, monkeypatch):
        def fail(*args, **kwargs):
            raise error

        monkeypatch.setattr(target, fail)

    return setup


def then(*setups):
    def setup(tmp_path, monkeypatch):
        for one in setups:
            one(tmp_path, monkeypatch)

    return setup


def a_grid_run(tmp_path, monkeypatch):
    shutil.copytree(tmp_path / "run", tmp_path / "g__corridor-v1__sac_s0")


# --- the table -------------------------------------------------------------------------------------------------------
# (entry point, setup, argv, status, fragment, must not exist, must exist: {path: first bytes})

ROWS = [
    # evaluate: numbers out of range, before the run is rebuilt
    *[
        ("evaluate", nothing, ["{run}", *argv], 2, fragment, [EVAL], {})
        for argv, fragment in [
            (["--seed", "-1"], "--seed -1 " + RANGE),
            (["--seed", "4294967296"], "from 0 to 4294967295"),
            (["--seed=-5"], RANGE),
            (["--episodes", "1e12"], "--episodes 1000000000000 " + RANGE),
            (["--episodes", "0"], "use 1 to 100,000"),
            (["--episodes", "100001"], RANGE),
            (["--video_episodes", "1e9"], "--video_episodes"),
            (["--episodes", "1.5"], "expected an integer"),
        ]
    ],
    # evaluate --video: below a file, unwritable, wrong suffix, a directory in the way, empty
    ("evaluate", plain_file, ["{run}", "--video", "{tmp}/plain/v.mp4"], 2, DIR_NOT_FILE, [EVAL], {"plain": MINE}),
    ("evaluate", plain_file, ["{run}", "--video", "{tmp}/plain/a/b/v.gif"], 2, DIR_NOT_FILE, [EVAL], {}),
    ("evaluate", plain_file, ["{run}", "--video", "{tmp}/plain/"], 2, DIR_NOT_FILE, [EVAL], {}),
    ("evaluate", nothing, ["{run}", "--video", "{tmp}/out.avi"], 2, SUFFIX, [EVAL, "{tmp}/out.avi"], {}),
    ("evaluate", nothing, ["{run}", "--video", "{tmp}/out"], 2, SUFFIX, [EVAL, "{tmp}/out"], {}),
    ("evaluate", nothing, ["{run}", "--video", "{tmp}/new/out.webm"], 2, SUFFIX, [EVAL, "{tmp}/new"], {}),
    (
        "evaluate",
        directory("vids/eval_deterministic_123.mp4"),
        ["{run}", "--video", "{tmp}/vids"],
        2,
        IS_DIR,
        [EVAL],
        {},
    ),
    ("evaluate", nothing, ["{run}", "--video", ""], 2, "--video is empty", [EVAL], {}),
    # evaluate --video: a directory means a file inside it; the suffix picks the format; a user's file is replaced
    # with a note
    (
        "evaluate",
        directory("vids"),
        ["{run}", "--episodes", "1", "--video", "{tmp}/vids"],
        0,
        "wrote {run}/eval_deterministic_123.json and {tmp}/vids/eval_deterministic_123.mp4",
        ["{tmp}/vids.mp4"],
        {"vids/eval_deterministic_123.mp4": MP4},
    ),
    (
        "evaluate",
        nothing,
        ["{run}", "--episodes", "1", "--seed", "7", "--video", "{tmp}/new/"],
        0,
        "{tmp}/new/eval_deterministic_7.mp4",
        [],
        {"new/eval_deterministic_7.mp4": MP4, "run/eval_deterministic_7.json": b"{"},
    ),
    (
        "evaluate",
        directory("v.mp4"),
        ["{run}", "--episodes", "1", "--video", "{tmp}/v.mp4/"],
        0,
        "{tmp}/v.mp4/eval_deterministic_123.mp4",
        [],
        {"v.mp4/eval_deterministic_123.mp4": MP4},
    ),
    (
        "evaluate",
        nothing,
        ["{run}", "--episodes", "1", "--seed", "4294967295", "--video", "{tmp}/watch.gif"],
        0,
        "{tmp}/watch.gif",
        [],
        {"watch.gif": GIF},
    ),
    (
        "evaluate",
        user_file("mine.mp4"),
        ["{run}", "--episodes", "1", "--video", "{tmp}/mine.mp4"],
        0,
        "note: replacing {tmp}/mine.mp4",
        [],
        {"mine.mp4": MP4},
    ),
    # plot --out: below a file, unwritable, a directory in the way, empty; then --snapshot
    ("plot", plain_file, ["{run}", "--out", "{tmp}/plain/fig"], 2, DIR_NOT_FILE, ["{tmp}/fig.md"], {"plain": MINE}),
    ("plot", plain_file, ["{run}", "--out", "{tmp}/plain/a/b/"], 2, DIR_NOT_FILE, [], {"plain": MINE}),
    (
        "plot",
        directory("figs/results.md"),
        ["{run}", "--out", "{tmp}/figs"],
        2,
        IS_DIR,
        ["{tmp}/figs.md", "{tmp}/figs/results_curves.csv"],
        {},
    ),
    ("plot", directory("figs/g.md"), ["{run}", "--out", "{tmp}/figs/g"], 2, IS_DIR, ["{tmp}/figs/g_curves.csv"], {}),
    ("plot", nothing, ["{run}", "--out", ""], 2, "--out is empty", [], {}),
    (
        "plot",
        plain_file,
        ["{run}", "--out", "{tmp}/fig", "--snapshot", "{tmp}/plain"],
        2,
        "--snapshot {tmp}/plain is a file",
        ["{tmp}/fig.md"],
        {"plain": MINE},
    ),
    (
        "plot",
        plain_file,
        ["{run}", "--out", "{tmp}/fig", "--snapshot", "{tmp}/plain/snap"],
        2,
        DIR_NOT_FILE,
        ["{tmp}/fig.md"],
        {},
    ),
    (
        "plot",
        user_file("snap/run"),
        ["{run}", "--out", "{tmp}/fig", "--snapshot", "{tmp}/snap"],
        2,
        "where a run's folder would be",
        ["{tmp}/fig.md"],
        {"snap/run": MINE},
    ),
    # plot --out: a directory (with or without '/') means files inside it, named after the grid; a user's file of
    # an output's name is replaced with a note
    (
        "plot",
        nothing,
        ["{run}", "--out", "{tmp}/figs/"],
        0,
        "{tmp}/figs/results.md",
        ["{tmp}/figs.md"],
        {"figs/results.md": NEW, "figs/results_success.png": b"\x89PNG"},
    ),
    (
        "plot",
        then(directory("figs"), a_grid_run),
        ["{tmp}/g__corridor-v1__sac_s0", "--out", "{tmp}/figs"],
        0,
        "{tmp}/figs/g.md",
        ["{tmp}/figs.md", "{tmp}/figs/results.md"],
        {"figs/g_curves.csv": b"task,"},
    ),
    (
        "plot",
        user_file("figs.md"),
        ["{run}", "--out", "{tmp}/figs"],
        0,
        "note: replacing {tmp}/figs.md",
        [],
        {"figs.md": NEW},
    ),
    # plot_exploration --out: the same rules
    (
        "plot_exploration",
        plain_file,
        ["{run}", "--out", "{tmp}/plain/maze", "--steps", "100"],
        2,
        DIR_NOT_FILE,
        ["{tmp}/maze_coverage.md"],
        {"plain": MINE},
    ),
    (
        "plot_exploration",
        directory("maps/results_coverage.md"),
        ["{run}", "--out", "{tmp}/maps/"],
        2,
        IS_DIR,
        ["{tmp}/maps/results_coverage.png"],
        {},
    ),
    (
        "plot_exploration",
        directory("maps/m_visits_corridor-v1_sac.png"),
        ["{run}", "--out", "{tmp}/maps/m"],
        2,
        IS_DIR,
        ["{tmp}/maps/m_coverage.md"],
        {},
    ),
    (
        "plot_exploration",
        nothing,
        ["{run}", "--out", "{tmp}/maps/", "--steps", "100"],
        0,
        "wrote {tmp}/maps/results_coverage.md",
        ["{tmp}/maps.md", "{tmp}/maps_coverage.md"],
        {"maps/results_coverage.md": NEW},
    ),
    (
        "plot_exploration",
        user_file("m_coverage.md"),
        ["{run}", "--out", "{tmp}/m", "--steps", "100"],
        0,
        "note: replacing {tmp}/m_coverage.md",
        [],
        {"m_coverage.md": NEW},
    ),
    # main.py's run directory: a file in its place, an unusable $SFP_LOG_DIR, a run already there
    (
        "main",
        user_file("logs/x_s0"),
        [*TINY, "--exp_name", "x"],
        2,
        "x_s0 is a file, not a run directory: move that file away or choose another --exp_name",
        [],
        {"logs/x_s0": MINE},
    ),
    ("main", log_dir_at("{tmp}/plain/logs"), TINY, 2, "plain/logs cannot be created", [], {"plain": MINE}),
    ("main", log_dir_at("{tmp}/plain"), TINY, 2, "$SFP_LOG_DIR", [], {"plain": MINE}),
    ("main", nothing, [*TINY, "--exp_name", "x", "--resume", "True"], 2, "nothing to resume", ["{tmp}/logs/x_s0"], {}),
    # a run that fails after claiming its directory, before its first step, leaves no directory behind
    (
        "main",
        failing("sfp.rl.trainer.Trainer.start", MemoryError()),
        [*TINY, "--exp_name", "oom"],
        2,
        "out of memory",
        ["{tmp}/logs/oom_s0"],
        {},
    ),
    (
        "main",
        failing("sfp.rl.run.write_provenance", UserError("a file went missing")),
        [*TINY, "--exp_name", "m"],
        2,
        "a file went missing",
        ["{tmp}/logs/m_s0"],
        {},
    ),
    (
        "main",
        then(user_file("logs/keep_s0/notes.txt"), failing("sfp.rl.trainer.Trainer.start", MemoryError())),
        [*TINY, "--exp_name", "keep"],
        2,
        "out of memory",
        [],
        {"logs/keep_s0/notes.txt": MINE},
    ),
]
if PROC:
    ROWS += [
        ("evaluate", nothing, ["{run}", "--video", "/proc/sfp-test/v.mp4"], 2, UNWRITABLE + " /proc", [EVAL], {}),
        ("evaluate", nothing, ["{run}", "--video", "/proc/self/"], 2, UNWRITABLE + " /proc/self", [EVAL], {}),
        ("plot", nothing, ["{run}", "--out", "/proc/self/fig"], 2, UNWRITABLE + " /proc/self", [], {}),
        (
            "plot",
            nothing,
            ["{run}", "--out", "{tmp}/fig", "--snapshot", "/proc/self/snap"],
            2,
            UNWRITABLE + " /proc/self",
            ["{tmp}/fig.md"],
            {},
        ),
        ("plot_exploration", nothing, ["{run}", "--out", "/proc/self/"], 2, UNWRITABLE + " /proc/self", [], {}),
        ("main", log_dir_at("/proc/self"), TINY, 2, UNWRITABLE + " /proc/self", [], {}),
    ]
if not ROOT_USER:  # permissions bind only other users
    ROWS += [
        ("evaluate", read_only("ro"), ["{run}", "--video", "{tmp}/ro/v.mp4"], 2, UNWRITABLE, [EVAL], {}),
        ("evaluate", read_only("run"), ["{run}"], 2, "evaluate the copy", [EVAL], {}),
        ("plot", read_only("ro"), ["{run}", "--out", "{tmp}/ro/new/"], 2, UNWRITABLE, ["{tmp}/ro/new"], {}),
        ("main", read_only("logs"), TINY, 2, UNWRITABLE, ["{tmp}/logs/*_s0"], {}),
    ]
# The same checks through the real scripts, in fresh interpreters.
SUBPROCESS_ROWS = [
    ("evaluate", nothing, ["{run}", "--seed", "-1"], 2, RANGE, [EVAL], {}),
    ("evaluate", plain_file, ["{run}", "--video", "{tmp}/plain/v.mp4"], 2, DIR_NOT_FILE, [EVAL], {}),
    ("plot", plain_file, ["{run}", "--out", "{tmp}/plain/fig"], 2, DIR_NOT_FILE, [], {}),
    ("main", user_file("logs/x_s0"), [*TINY, "--exp_name", "x"], 2, "is a file, not a run directory", [], {}),
]


def _fill(text: str, tmp_path: Path) -> str:
    return text.replace("{run}", str(tmp_path / "run")).replace("{tmp}", str(tmp_path))


def _row_id(row) -> str:
    entry, setup, argv, status = row[:4]
    name = getattr(setup, "__qualname__", "setup").split(".")[0]
    return f"{entry}-{status}-{name}-{' '.join(word for word in argv if word not in TINY)[:60]!r}"


def _check(status, stdout, stderr, row, tmp_path):
    *_, expected, fragment, absent, present = row
    fragment = _fill(fragment, tmp_path)
    assert "Traceback" not in stderr, stderr
    if expected == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], stderr
    else:
        assert fragment in stdout, stdout
    assert status == expected, stderr
    for pattern in absent:
        pattern = _fill(pattern, tmp_path)
        found = list(Path("/").glob(pattern.lstrip("/")))
        assert not found, f"{found} must not exist"
    for name, head in present.items():
        data = (tmp_path / name).read_bytes()
        assert data.startswith(head) and (head == MINE) == (data == MINE), name
        if head == MP4:
            assert data[4:8] == b"ftyp"
    hidden = [path for path in tmp_path.rglob(".*")]
    assert not hidden, f"temporary files left behind: {hidden}"


def _prepare(row, tmp_path, monkeypatch, trained):
    shutil.copytree(trained, tmp_path / "run")
    row[1](tmp_path, monkeypatch)
    return [_fill(word, tmp_path) for word in row[2]]


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(row) for row in ROWS])
def test_output_location(row, tmp_path, monkeypatch, capsys, trained):
    argv = _prepare(row, tmp_path, monkeypatch, trained)
    try:
        COMMANDS[row[0]](argv)
        status = 0
    except SystemExit as stop:
        status = stop.code
    finally:
        for folder in tmp_path.rglob("*"):  # let pytest remove read-only folders
            if folder.is_dir() and not folder.is_symlink():
                folder.chmod(0o755)
    out, err = capsys.readouterr()
    _check(status, out, err, row, tmp_path)


@pytest.mark.parametrize("row", SUBPROCESS_ROWS, ids=[_row_id(row) for row in SUBPROCESS_ROWS])
def test_output_location_through_the_scripts(row, tmp_path, monkeypatch, trained):
    argv = _prepare(row, tmp_path, monkeypatch, trained)
    result = subprocess.run(
        [sys.executable, SCRIPTS[row[0]], *argv],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    _check(result.returncode, result.stdout, result.stderr, row, tmp_path)


def test_the_corrected_command_runs_after_a_failed_start(tmp_path, monkeypatch, capsys):
    """A start that failed after claiming its directory is not in the way of the same command once fixed."""

    def fail(*args, **kwargs):
        raise MemoryError

    with monkeypatch.context() as patch:
        patch.setattr("sfp.rl.trainer.Trainer.start", fail)
        with pytest.raises(SystemExit):
            train.main([*TINY, "--exp_name", "again"])
    assert not paths.run_dir("again", 0).exists()
    train.main([*TINY, "--exp_name", "again"])
    assert (paths.run_dir("again", 0) / "checkpoint.pt").is_file()


def test_the_hint_fits_the_run_already_there(tmp_path, trained, monkeypatch, capsys):
    """Same parameters: continue it with --resume True; other parameters: a new --exp_name, nothing suggests
    --resume."""
    monkeypatch.setenv("SFP_LOG_DIR", str(trained.parent))
    with pytest.raises(SystemExit):
        train.main([*TINY, "--exp_name", "tiny"])
    same = capsys.readouterr().err
    assert "already holds a run with these parameters; continue it with --resume True" in same
    with pytest.raises(SystemExit):
        train.main([*TINY, "--exp_name", "tiny", "--lr", "0.01"])
    other = capsys.readouterr().err
    assert "already holds a run with other parameters (lr: 0.001 -> 0.01); choose a new --exp_name" in other
    assert "--resume" not in other and len(other.strip().splitlines()) == 1


def test_check_writable_makes_nothing(tmp_path):
    paths.check_writable(tmp_path / "a" / "b" / "c", "fix")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match="longer than 255 bytes"):
        paths.check_writable(tmp_path / ("x" * 300), "fix")
