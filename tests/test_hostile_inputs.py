"""Hostile input at every entry point: one row per input a user can type or a file a user can damage.

Each row is (entry point, setup, argv, fragment): the entry point must exit with status 2 before any work, with
exactly one line `error: ...` on stderr containing the fragment, and no traceback. Most rows call the command's
main(argv) in this interpreter; SUBPROCESS_ROWS run the real scripts (main.py, flows/train.py, scripts/*.py).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sfp import paths
from sfp.commands import (
    collect,
    distill,
    grid,
    import_d4rl,
    import_minari,
    plot,
    plot_exploration,
    train,
    train_prior,
)
from sfp.data.dataset import write_dataset
from sfp.rl.params import PARAMS_FILE, RLParams, load_rl_params

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "main": train.main,
    "flows": train_prior.main,
    "grid": grid.main,
    "collect": collect.main,
    "distill": distill.main,
    "import_d4rl": import_d4rl.main,
    "plot": plot.main,
    "import_minari": import_minari.main,
    "plot_exploration": plot_exploration.main,
}
SCRIPTS = {
    "main": "main.py",
    "flows": "flows/train.py",
    "grid": "scripts/run_experiments.py",
    "collect": "scripts/collect_dataset.py",
    "distill": "scripts/distill_dataset.py",
    "import_d4rl": "scripts/import_d4rl.py",
    "plot": "scripts/plot.py",
}
SPEC = "name: g\ntasks: [room-v1]\nmethods: [sac]\nseeds: [0]\n"
FINITE, NAME = "expected a finite number", "is not a name"


# --- setups: damage the sandbox (tmp_path holds datasets/, flows/, logs/; see conftest.py) ----------------------


def spec_file(text: str, suffix: str = ".yaml"):
    def setup(tmp_path, monkeypatch):
        (tmp_path / f"spec{suffix}").write_text(text)

    return setup


def below_a_file(variable: str):
    def setup(tmp_path, monkeypatch):
        (tmp_path / "plain").write_text("a regular file")
        monkeypatch.setenv(variable, str(tmp_path / "plain" / "below"))

    return setup


def maze_dataset_as(kind: str):
    def setup(tmp_path, monkeypatch):
        target = paths.dataset_dir(create=True) / "maze_primitive.hdf5"
        if kind == "directory":
            target.mkdir()
        elif kind == "text":
            target.write_text("not an HDF5 file\n")
        else:  # a real dataset cut in half
            rows = 40
            write_dataset(
                target,
                {
                    "observations": np.zeros((rows, 2)),
                    "actions": np.zeros((rows, 2)),
                    "goals": np.zeros((rows, 2)),
                    "rewards": np.zeros(rows),
                    "terminals": np.zeros(rows, bool),
                    "timeouts": np.arange(rows) % 20 == 19,
                },
            )
            data = target.read_bytes()
            target.write_bytes(data[: len(data) // 2])

    return setup


def truncated_prior(tmp_path, monkeypatch):
    target = paths.flow_dir(create=True) / "maze_primitive_flow_action_1.pt"
    torch.save({"state_dict": {"w": torch.zeros(64, 64)}, "config": {"model": "flow"}}, target)
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])


def d4rl_file(kind: str):
    def setup(tmp_path, monkeypatch):
        target = tmp_path / "hopper-expert-v2.hdf5"
        if kind == "directory":
            target.mkdir()
        else:
            target.write_bytes(b"\x00" * 64)

    return setup


def plain_file(tmp_path, monkeypatch):
    (tmp_path / "plain").write_text("a regular file")


def damaged_params(change):
    def setup(tmp_path, monkeypatch):
        raw = json.loads(PARAMS_FILE.read_text())
        (tmp_path / "params.json").write_text(json.dumps(change(raw)))

    return setup


def config_file(text: str):
    def setup(tmp_path, monkeypatch):
        (tmp_path / "run.json").write_text(text)

    return setup


def nothing(tmp_path, monkeypatch):
    pass


# --- the table: (entry point, setup, argv with {tmp} for the sandbox, fragment of the one line) --------------------

ROWS = [
    # item 4: every float parameter is finite (main.py and flows/train.py)
    *[
        ("main", nothing, [f"--{key}={value}"], FINITE)
        for key, value in [
            ("alpha", "nan"),
            ("gamma", "nan"),
            ("polyak", "nan"),
            ("lr", "inf"),
            ("lr", "nan"),
            ("lr", "-inf"),
            ("lambda_init", "NaN"),
            ("sparsity", "inf"),
            ("prioritize_beta", "nan"),
            ("bias", "-inf"),
            ("epsilon", "1e400"),
            ("data_ratio", "nan"),
            ("sil_weight", "Infinity"),
        ]
    ],
    *[
        ("flows", nothing, [f"--{key}={value}"], FINITE)
        for key, value in [
            ("lr", "nan"),
            ("lr", "inf"),
            ("weight_decay", "-inf"),
            ("data_ratio", "nan"),
            ("lr", "1e999"),
        ]
    ],
    ("main", nothing, ["--epochs", "nan"], "expected an integer"),
    ("main", nothing, ["--steps_per_epoch", "inf"], "expected an integer"),
    ("main", config_file('{"lr": NaN}'), ["--config", "{tmp}/run.json"], FINITE),
    ("flows", config_file('{"lr": Infinity}'), ["--config", "{tmp}/run.json"], FINITE),
    # item 3: run names are names
    *[
        ("main", nothing, ["--exp_name", name], NAME)
        for name in ["a/b", "../x", "../../etc/x", "/abs", "a\nb", "..", ".", "-x ", "tab\there", "x" * 300, "a\\b"]
    ],
    *[("flows", nothing, ["--exp_name", name], NAME) for name in ["a/b", "../x", "/abs", "a\nb"]],
    ("main", nothing, ["--env", "../x"], "unknown environment"),
    ("flows", nothing, ["--env", "../x"], "../x"),
    ("main", nothing, ["--gamma", "2"], "above its maximum"),
    ("main", nothing, ["--lrr", "0.1"], "did you mean --lr"),
    ("main", nothing, ["--batch_size", "1e9"], "larger than the replay buffer"),
    ("main", nothing, ["--sil_bs", "2e6"], "larger than the replay buffer"),
    # damaged parameter files
    (
        "main",
        damaged_params(lambda raw: {**raw, "lr": [float("nan"), "learning rate"]}),
        ["--params_file", "{tmp}/params.json"],
        "a number must be finite",
    ),
    ("main", damaged_params(lambda raw: list(raw)), ["--params_file", "{tmp}/params.json"], "must be a JSON object"),
    (
        "main",
        damaged_params(lambda raw: {**raw, "gama": [0.9, "typo"]}),
        ["--params_file", "{tmp}/params.json"],
        "unknown parameter 'gama'; did you mean 'gamma'?",
    ),
    (
        "main",
        damaged_params(lambda raw: {**raw, "epochs": ["many", "number of epochs"]}),
        ["--params_file", "{tmp}/params.json"],
        "the default of 'epochs' must be an integer",
    ),
    # item 5: the launcher refuses specs that cannot run, before anything starts (also with --prepare_only)
    ("grid", spec_file(SPEC), ["{tmp}/spec.yaml", "--parallel", "0"], "--parallel 0"),
    ("grid", spec_file(SPEC), ["{tmp}/spec.yaml", "--parallel", "-1"], "--parallel -1"),
    ("grid", spec_file(""), ["{tmp}/spec.yaml"], "is empty"),
    ("grid", spec_file("# only a comment\n"), ["{tmp}/spec.yaml", "--prepare_only"], "is empty"),
    ("grid", spec_file("- name\n- tasks\n"), ["{tmp}/spec.yaml"], "holds a list, not a mapping"),
    ("grid", spec_file("3\n"), ["{tmp}/spec.yaml"], "holds an integer, not a mapping"),
    ("grid", spec_file("name: [\n"), ["{tmp}/spec.yaml"], "is not valid YAML: line 2, column 1"),
    ("grid", spec_file('{"name": }', ".json"), ["{tmp}/spec.json"], "is not valid JSON"),
    ("grid", nothing, ["{tmp}/missing.yaml"], "No such file or directory"),
    ("grid", nothing, ["{tmp}"], "Is a directory"),
    ("grid", spec_file(SPEC + "foo: 1\n"), ["{tmp}/spec.yaml"], "unknown: foo"),
    ("grid", spec_file("name: g\ntasks: [room-v1]\nmethods: [sac]\n"), ["{tmp}/spec.yaml"], "missing: seeds"),
    ("grid", spec_file(SPEC.replace("name: g", "name: ../g")), ["{tmp}/spec.yaml", "--prepare_only"], NAME),
    ("grid", spec_file(SPEC.replace("name: g", "name: a/b")), ["{tmp}/spec.yaml"], NAME),
    ("grid", spec_file(SPEC.replace("name: g", "name: /abs")), ["{tmp}/spec.yaml"], NAME),
    ("grid", spec_file(SPEC.replace("name: g", 'name: "a\\nb"')), ["{tmp}/spec.yaml"], NAME),
    ("grid", spec_file(SPEC.replace("name: g", "name: ''")), ["{tmp}/spec.yaml"], NAME),
    ("grid", spec_file(SPEC.replace("[room-v1]", "[../room-v1]")), ["{tmp}/spec.yaml"], NAME),
    ("grid", spec_file(SPEC.replace("[room-v1]", "[room-v1, room-v1]")), ["{tmp}/spec.yaml"], "more than once"),
    ("grid", spec_file(SPEC.replace("[room-v1]", "room-v1")), ["{tmp}/spec.yaml"], "must be a non-empty list"),
    ("grid", spec_file(SPEC.replace("[room-v1]", "[]")), ["{tmp}/spec.yaml"], "must be a non-empty list"),
    ("grid", spec_file(SPEC.replace("[room-v1]", "[moon-v1]")), ["{tmp}/spec.yaml"], "unknown environment"),
    (
        "grid",
        spec_file(SPEC.replace("[sac]", "[sac, sac]")),
        ["{tmp}/spec.yaml", "--prepare_only"],
        "methods lists sac more than once",
    ),
    ("grid", spec_file(SPEC.replace("[sac]", "[dqn]")), ["{tmp}/spec.yaml"], "unknown method 'dqn'"),
    ("grid", spec_file(SPEC.replace("[0]", "[0, 1, 0]")), ["{tmp}/spec.yaml"], "seeds lists 0 more than once"),
    ("grid", spec_file(SPEC.replace("[0]", "[-1]")), ["{tmp}/spec.yaml"], "seed -1 is negative"),
    ("grid", spec_file(SPEC.replace("[0]", "[zero]")), ["{tmp}/spec.yaml"], "not an integer"),
    ("grid", spec_file(SPEC + "params: {foo: 1}\n"), ["{tmp}/spec.yaml"], "params: unknown key 'foo'"),
    ("grid", spec_file(SPEC + "params: {lr: .nan}\n"), ["{tmp}/spec.yaml"], FINITE),
    ("grid", spec_file(SPEC + "params: {gamma: .inf}\n"), ["{tmp}/spec.yaml"], FINITE),
    ("grid", spec_file(SPEC + "params: {exp_name: x}\n"), ["{tmp}/spec.yaml"], "is set by the grid"),
    ("grid", spec_file(SPEC + "params: [1]\n"), ["{tmp}/spec.yaml"], "params must be a mapping"),
    ("grid", spec_file(SPEC + "method_params: {sac: {lrr: 1}}\n"), ["{tmp}/spec.yaml"], "did you mean lr"),
    ("grid", spec_file(SPEC + "method_params: {sfp: {alpha: 1}}\n"), ["{tmp}/spec.yaml"], "not among the methods"),
    ("grid", spec_file(SPEC + "method_params: {sac: {alpha: .nan}}\n"), ["{tmp}/spec.yaml"], FINITE),
    (
        "grid",
        spec_file(SPEC + "data: {num_trajs: 0}\n"),
        ["{tmp}/spec.yaml", "--prepare_only"],
        "--num_trajs 0 must be at least 1",
    ),
    ("grid", spec_file(SPEC + "data: {workers: -1}\n"), ["{tmp}/spec.yaml"], "--workers -1"),
    ("grid", spec_file(SPEC + "data: {traj_len: 100000}\n"), ["{tmp}/spec.yaml"], "--traj_len 100000"),
    ("grid", spec_file(SPEC + "data: {num_trajs: ten}\n"), ["{tmp}/spec.yaml"], "num_trajs 'ten' is not an integer"),
    ("grid", spec_file(SPEC + "data: {foo: 1}\n"), ["{tmp}/spec.yaml"], "data: unknown key 'foo'"),
    (
        "grid",
        spec_file(SPEC + "prior: {epochs: 2, foo: 1}\n"),
        ["{tmp}/spec.yaml", "--prepare_only"],
        "prior: unknown key 'foo'",
    ),
    ("grid", spec_file(SPEC + "prior: {lr: .nan}\n"), ["{tmp}/spec.yaml"], FINITE),
    ("grid", spec_file(SPEC + "prior: {epochs: 0}\n"), ["{tmp}/spec.yaml"], "--epochs 0 is below its minimum"),
    ("grid", spec_file(SPEC + "prior: {n_step: 3}\n"), ["{tmp}/spec.yaml"], "is set by the grid"),
    # item 6: operating-system errors, one line naming the path
    ("main", below_a_file("SFP_LOG_DIR"), ["--env", "room-v1"], "plain/below cannot be created"),
    ("flows", below_a_file("SFP_LOG_DIR"), ["--env", "point-maze"], "plain/below cannot be created"),
    ("flows", below_a_file("SFP_FLOW_DIR"), ["--env", "point-maze"], "set $SFP_FLOW_DIR"),
    ("collect", below_a_file("D4RL_DATASET_DIR"), ["--env", "point-maze", "--num_trajs", "1"], "set $D4RL_DATASET_DIR"),
    ("import_d4rl", nothing, ["--file", "{tmp}/missing.hdf5"], "does not exist"),
    ("plot", plain_file, ["{tmp}", "--out", "{tmp}/plain/fig"], "plain cannot be created: it is a file"),
    ("plot", nothing, ["{tmp}", "--out", "/"], "no run"),
    ("plot", nothing, ["{tmp}/missing", "--out", "{tmp}/fig"], "no run"),
    ("flows", maze_dataset_as("directory"), ["--env", "point-maze"], "is a directory, not an HDF5 file"),
    ("flows", maze_dataset_as("text"), ["--env", "point-maze"], "is not a readable HDF5 file"),
    ("flows", maze_dataset_as("truncated"), ["--env", "point-maze"], "maze_primitive.hdf5"),
    ("flows", truncated_prior, ["--env", "point-maze", "--diagnose_only", "True"], "is corrupt"),
    ("main", truncated_prior, ["--env", "room-v1", "--use_prior", "True"], "is corrupt"),
    ("import_d4rl", d4rl_file("directory"), ["--file", "{tmp}/hopper-expert-v2.hdf5"], "hdf5 is a directory"),
    ("import_d4rl", d4rl_file("zeros"), ["--file", "{tmp}/hopper-expert-v2.hdf5"], "is not an HDF5 file"),
    ("distill", nothing, ["--env", "point-maze"], "no collection"),
    ("collect", nothing, ["--env", "moon"], "invalid choice: 'moon'"),
    ("collect", nothing, ["--env", "point-maze", "--num_trajs", "0"], "--num_trajs 0 must be at least 1"),
    ("collect", nothing, ["--env", "point-maze", "--workers", "x"], "invalid int value: 'x'"),
    ("plot", nothing, ["--out", "x"], "the following arguments are required"),
    ("import_minari", nothing, ["--short", "x"], "the following arguments are required: --dataset"),
    ("plot_exploration", nothing, ["--bogus"], "the following arguments are required"),
]
# The same checks through the real scripts, in fresh interpreters (a few seconds each).
SUBPROCESS_ROWS = [
    ("main", nothing, ["--lr", "nan"], FINITE),
    ("main", nothing, ["--exp_name", "../../etc/x"], NAME),
    ("flows", nothing, ["--lr", "nan"], FINITE),
    ("grid", spec_file(""), ["{tmp}/spec.yaml", "--parallel", "0"], "--parallel 0"),
    ("grid", spec_file("name: [\n"), ["{tmp}/spec.yaml"], "is not valid YAML"),
    ("main", below_a_file("SFP_LOG_DIR"), ["--env", "room-v1"], "cannot be created"),
    ("plot", plain_file, ["{tmp}", "--out", "{tmp}/plain/fig"], "is a file"),
]


def _argv(argv: list[str], tmp_path: Path) -> list[str]:
    return [word.replace("{tmp}", str(tmp_path)) for word in argv]


def run_script(script: str, argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """`python script argv` from the repository root in this environment ({tmp} in argv: tmp_path), output as text."""
    return subprocess.run(
        [sys.executable, script, *_argv(argv, tmp_path)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _check_line(stderr: str, fragment: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]


def _row_id(row) -> str:
    entry, setup, argv, _ = row
    return f"{entry}-{getattr(setup, '__qualname__', 'setup').split('.')[0]}-{' '.join(argv)[:60]!r}"


@pytest.mark.parametrize("entry,setup,argv,fragment", ROWS, ids=[_row_id(row) for row in ROWS])
def test_hostile_input_is_one_line(entry, setup, argv, fragment, tmp_path, monkeypatch, capsys):
    setup(tmp_path, monkeypatch)
    argv = _argv(argv, tmp_path)
    kwargs = {}
    if "--params_file" in argv:  # a damaged copy of default_params.json, read as main.py reads its own
        index = argv.index("--params_file")
        kwargs["params_file"] = Path(argv[index + 1])
        argv = argv[:index] + argv[index + 2 :]
    with pytest.raises(SystemExit) as stop:
        COMMANDS[entry](argv, **kwargs)
    assert stop.value.code == 2
    _check_line(capsys.readouterr().err, fragment)
    assert not any(paths.log_dir().glob("*_s0")), "a run directory was made before the error"


@pytest.mark.parametrize("entry,setup,argv,fragment", SUBPROCESS_ROWS, ids=[_row_id(r) for r in SUBPROCESS_ROWS])
def test_hostile_input_through_the_scripts(entry, setup, argv, fragment, tmp_path, monkeypatch):
    setup(tmp_path, monkeypatch)
    result = run_script(SCRIPTS[entry], argv, tmp_path)
    assert result.returncode == 2, result.stderr
    _check_line(result.stderr, fragment)


@pytest.mark.parametrize(
    "entry, argv",
    [
        ("flows", ["--env", "point-maze"]),  # no dataset
        ("flows", ["--env", "point-maze", "--diagnose_only", "True"]),  # no prior
        ("main", ["--env", "room-v1", "--use_prior", "True"]),  # no prior
    ],
)
def test_a_refused_command_creates_no_directory(entry, argv, capsys):
    with pytest.raises(SystemExit) as stop:
        COMMANDS[entry](argv)
    assert stop.value.code == 2 and capsys.readouterr().err.startswith("error: ")
    assert not [path for path in (paths.log_dir(), paths.flow_dir(), paths.dataset_dir()) if path.exists()]


def test_an_allocation_that_cannot_succeed_is_one_line(capsys):
    """A network of 1e13 units per layer: torch cannot allocate its first layer (it fails at once, allocating
    nothing)."""
    with pytest.raises(SystemExit) as stop:
        train.main(["--env", "room-v1", "--hid", "1e13", "--num_threads", "1"])
    assert stop.value.code == 2
    _check_line(capsys.readouterr().err, "out of memory")


def test_escaping_names_write_nothing_outside_the_log_directory(tmp_path, capsys):
    """`--exp_name ../x` used to make a whole run beside $SFP_LOG_DIR."""
    with pytest.raises(SystemExit):
        train.main(["--exp_name", "../escaped", "--env", "room-v1"])
    assert not (tmp_path / "escaped_s0").exists() and not paths.log_dir().exists()


def test_goal_cond_false_alone_turns_her_off_with_a_note():
    params, notes = load_rl_params(["--env", "room-v1", "--goal_cond", "False"])
    assert (params.goal_cond, params.her) == (False, False)
    assert any("her set to False" in note for note in notes)
    params, notes = load_rl_params(["--env", "room-v1"])
    assert params.her and not any("her" in note for note in notes)


def test_a_parameter_left_out_of_the_file_keeps_its_declared_default(tmp_path):
    raw = json.loads(PARAMS_FILE.read_text())
    del raw["gamma"]
    raw["epochs"] = [7, "edited by a user"]
    (tmp_path / "params.json").write_text(json.dumps(raw))
    params, _ = load_rl_params(["--env", "room-v1"], tmp_path / "params.json")
    assert (params.gamma, params.epochs) == (RLParams().gamma, 7)


def test_a_valid_spec_still_prepares(tmp_path, capsys):
    """The checks refuse bad specs only: a spec of plain SAC needs no data or prior and prepares nothing."""
    (tmp_path / "spec.yaml").write_text(
        SPEC + "params: {epochs: 1}\ndata: {num_trajs: 2, images: true}\n"
        "prior: {epochs: 2}\nmethod_params: {sac: {alpha: 0.1}}\n"
    )
    with pytest.raises(SystemExit) as stop:
        grid.main([str(tmp_path / "spec.yaml"), "--prepare_only"])
    assert stop.value.code == 0 and "error" not in capsys.readouterr().err


def test_a_report_without_runs_makes_no_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        plot.main([str(tmp_path / "missing"), "--out", str(tmp_path / "new" / "sub" / "fig")])
    assert stop.value.code == 2 and "no run" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
