"""Issue 28 §3-§6 at every entry point: values beginning with '-', sizes and seeds, contradictory options, the
extras a grid needs, default run names and the parameter files' repair hint.

Each row is (entry point, setup, argv, status, fragment, paths that must not exist afterwards): the command exits
with `status` before any work, with one line `error: ...` holding the fragment and no traceback, and makes none of
the paths (globs below the sandbox `{tmp}`; see conftest.py). Rows call the commands' main(argv) in this
interpreter; SUBPROCESS_ROWS run the real scripts.
"""

import json
import sys

import pytest

from sfp.commands import evaluate
from sfp.config import load_defaults
from sfp.errors import UserError
from sfp.priors.params import PARAMS_FILE as PRIOR_PARAMS_FILE
from sfp.priors.params import parse_train_params
from sfp.rl.params import PARAMS_FILE, RLParams, load_rl_params
from sfp.rl.peer_sac import PEER_COMMAND
from tests.test_hostile_inputs import (
    COMMANDS,
    ROOT,
    SCRIPTS,
    SPEC,
    _argv,
    _check_line,
    config_file,
    nothing,
    run_script,
    spec_file,
)

COMMANDS = {**COMMANDS, "evaluate": evaluate.main}
SCRIPTS = {**SCRIPTS, "evaluate": "scripts/evaluate.py"}
NO_RUN = ("logs/*_s*", "logs/**/config.json")  # no run directory, no config.json
NO_PRIOR = ("flows/*.pt", "logs/flows_*")
NO_DATA = ("datasets/*",)
MEMORY = "would run out of memory"
SEED_ABOVE = "is above its maximum 4294967295"


def without_wandb(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` raises ImportError


def run_dir_with_config(tmp_path, monkeypatch):
    run = tmp_path / "logs" / "r_s0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"env": "room-v1", "exp_name": "r", "seed": 0}))


ROWS = [
    # §3: a value beginning with '-' is a value, and a wrong one gets its real reason
    ("main", nothing, ["--lr", "-1e-3"], 2, "--lr -0.001 is below its minimum", NO_RUN),
    ("main", nothing, ["--lr", "-5"], 2, "--lr -5.0 is below its minimum", NO_RUN),
    ("main", nothing, ["--gamma", "-INF"], 2, "expected a finite number, got '-INF'", NO_RUN),
    ("main", nothing, ["--gamma", "-.5"], 2, "--gamma -0.5 is below its minimum", NO_RUN),
    ("main", nothing, ["--polyak", "-1e-9"], 2, "is below its minimum", NO_RUN),
    ("main", nothing, ["--epochs", "-3"], 2, "--epochs -3 is below its minimum", NO_RUN),
    ("main", nothing, ["--epochs", "-1e3"], 2, "--epochs -1000 is below its minimum", NO_RUN),
    ("main", nothing, ["--exp_name", "-dash"], 2, "starts with '-'", NO_RUN),
    ("main", nothing, ["--exp_name", "-"], 2, "starts with '-'", NO_RUN),
    ("main", nothing, ["--env", "-v2"], 2, "unknown environment '-v2'", NO_RUN),
    ("main", nothing, ["--env", "-"], 2, "unknown environment '-'", NO_RUN),
    ("main", nothing, ["--target_entropy", "-1e-1"], 2, "add --autotune_alpha True", NO_RUN),
    ("main", nothing, ["--target_entropy", "-x", "--autotune_alpha", "True"], 2, "must be 'auto'", NO_RUN),
    ("main", nothing, ["--use_prior", "-1"], 2, "expected a boolean", NO_RUN),
    ("main", nothing, ["-lr", "0.1"], 2, "write --lr, with two dashes", NO_RUN),
    ("main", nothing, ["--lr", "0.1", "-5"], 2, "unexpected argument '-5'", NO_RUN),
    ("main", config_file('{"lr": -0.5}'), ["--config", "{tmp}/run.json"], 2, "--lr -0.5 is below", NO_RUN),
    ("flows", nothing, ["--lr", "-1e-3"], 2, "--lr -0.001 is below its minimum", NO_PRIOR),
    ("flows", nothing, ["--weight_decay", "-INF"], 2, "expected a finite number, got '-INF'", NO_PRIOR),
    ("flows", nothing, ["--epochs", "-2"], 2, "--epochs -2 is below its minimum", NO_PRIOR),
    ("flows", nothing, ["--exp_name", "-dash"], 2, "starts with '-'", NO_PRIOR),
    ("flows", nothing, ["--env", "-v2"], 2, "unknown suite '-v2'", NO_PRIOR),
    ("flows", nothing, ["--data_ratio", "-0.5"], 2, "--data_ratio must be above 0", NO_PRIOR),
    ("grid", spec_file(SPEC), ["{tmp}/spec.yaml", "--parallel", "-2"], 2, "--parallel -2", NO_RUN),
    ("grid", spec_file(SPEC), ["{tmp}/spec.yaml", "--poll_seconds", "-1e-1"], 2, "--poll_seconds -0.1", NO_RUN),
    ("grid", spec_file(SPEC), ["{tmp}/spec.yaml", "--slurm_mem", "-1e3"], 2, "--slurm_mem a positive", NO_RUN),
    ("grid", spec_file(SPEC), ["{tmp}/spec.yaml", "--slurm_time", "-5"], 2, "--slurm_time -5", NO_RUN),
    ("grid", spec_file(SPEC + "params: {lr: -1.0e-3}\n"), ["{tmp}/spec.yaml"], 2, "--lr -0.001 is below", NO_RUN),
    ("collect", nothing, ["--env", "point-maze", "--num_trajs", "-5"], 2, "--num_trajs -5 must be at least 1", NO_DATA),
    ("collect", nothing, ["--env", "point-maze", "--seed", "-1"], 2, "--seed -1", NO_DATA),
    ("collect", nothing, ["--env", "-v2"], 2, "invalid choice: '-v2'", NO_DATA),
    ("distill", nothing, ["--env", "-x"], 2, "invalid choice: '-x'", NO_DATA),
    ("evaluate", nothing, ["{tmp}/logs/r_s0", "--episodes", "-5"], 2, "--episodes -5 is out of range", ()),
    ("evaluate", nothing, ["{tmp}/logs/r_s0", "--seed", "-1"], 2, "--seed -1 is out of range", ()),
    ("plot", nothing, ["{tmp}/missing", "--out", "{tmp}/fig", "--last", "-3"], 2, "--last", ("fig*",)),
    # §4: seeds and sizes are checked before anything is written
    ("main", nothing, ["--seed", "4294967296"], 2, SEED_ABOVE, NO_RUN),
    ("main", nothing, ["--seed", "1e30"], 2, "expected an integer of at most 2**63-1", NO_RUN),
    ("main", nothing, ["--seed", "-1"], 2, "--seed -1 is below its minimum 0", NO_RUN),
    ("main", nothing, ["--env", "room-v1", "--epochs", "1e15"], 2, "lower --epochs", NO_RUN),
    ("main", nothing, ["--env", "room-v1", "--steps_per_epoch", "1e15"], 2, "lower --steps_per_epoch", NO_RUN),
    (
        "main",
        nothing,
        ["--env", "room-v1", "--epochs", "1e9", "--steps_per_epoch", "1"],
        2,
        f"--epochs 1000000000 {MEMORY}: the visitation counts",
        NO_RUN,
    ),
    (
        "main",
        nothing,
        ["--env", "reach-v2", "--replay_size", "1e15"],
        2,
        f"--replay_size 1000000000000000 {MEMORY}",
        NO_RUN,
    ),
    (
        "main",
        nothing,
        ["--env", "room-v1", "--visual", "True", "--replay_size", "1e9"],
        2,
        f"--replay_size 1000000000 {MEMORY}",
        NO_RUN,
    ),
    ("main", nothing, ["--hid", "1e12"], 2, f"--hid 1000000000000 {MEMORY}", NO_RUN),
    ("main", nothing, ["--l", "1e12"], 2, f"--l 1000000000000 {MEMORY}", NO_RUN),
    ("main", nothing, ["--n_step_rew", "1e12"], 2, f"--n_step_rew 1000000000000 {MEMORY}", NO_RUN),
    (
        "main",
        nothing,
        ["--prior_n_step", "1e12", "--replay_size", "1e3"],
        2,
        f"--prior_n_step 1000000000000 {MEMORY}",
        NO_RUN,
    ),
    (
        "main",
        config_file('{"epochs": 1e30}'),
        ["--config", "{tmp}/run.json"],
        2,
        "'epochs': expected an integer",
        NO_RUN,
    ),
    ("main", config_file('{"epochs": 1e15}'), ["--config", "{tmp}/run.json"], 2, "lower --epochs", NO_RUN),
    ("main", config_file('{"seed": 4294967296}'), ["--config", "{tmp}/run.json"], 2, SEED_ABOVE, NO_RUN),
    ("flows", nothing, ["--seed", "4294967296"], 2, SEED_ABOVE, NO_PRIOR),
    ("flows", nothing, ["--seed", "-1"], 2, "--seed -1 is below its minimum 0", NO_PRIOR),
    ("flows", nothing, ["--num_hidden", "1e12"], 2, f"--num_hidden 1000000000000 {MEMORY}", NO_PRIOR),
    ("flows", nothing, ["--num_blocks", "1e12"], 2, f"--num_blocks 1000000000000 {MEMORY}", NO_PRIOR),
    ("flows", nothing, ["--pre_mlp_units", "1e13"], 2, f"--pre_mlp_units 10000000000000 {MEMORY}", NO_PRIOR),
    ("flows", nothing, ["--batch_size", "1e13"], 2, f"--batch_size 10000000000000 {MEMORY}", NO_PRIOR),
    ("flows", nothing, ["--test_batch_size", "1e15"], 2, f"--test_batch_size 1000000000000000 {MEMORY}", NO_PRIOR),
    ("flows", nothing, ["--epochs", "1e20"], 2, "expected an integer of at most 2**63-1", NO_PRIOR),
    ("flows", config_file('{"num_hidden": 1e12}'), ["--config", "{tmp}/run.json"], 2, "lower --num_hidden", NO_PRIOR),
    (
        "grid",
        spec_file(SPEC.replace("[0]", "[1099511627776]")),
        ["{tmp}/spec.yaml", "--prepare_only"],
        2,
        "seed 1099511627776 is above numpy's largest seed",
        NO_RUN + NO_DATA,
    ),
    (
        "grid",
        spec_file(SPEC.replace("[0]", "[4294967296]")),
        ["{tmp}/spec.yaml"],
        2,
        "above numpy's largest seed",
        NO_RUN,
    ),
    (
        "grid",
        spec_file(SPEC + "params: {epochs: 1.0e+15}\n"),
        ["{tmp}/spec.yaml", "--prepare_only"],
        2,
        "room-v1/sac: --epochs",
        NO_RUN,
    ),
    (
        "grid",
        spec_file(SPEC + "params: {hid: 1000000000000}\n"),
        ["{tmp}/spec.yaml"],
        2,
        f"--hid 1000000000000 {MEMORY}",
        NO_RUN,
    ),
    (
        "grid",
        spec_file(SPEC + "prior: {num_hidden: 1000000000000}\n"),
        ["{tmp}/spec.yaml", "--prepare_only"],
        2,
        "prior: --num_hidden",
        NO_RUN + NO_PRIOR,
    ),
    # §5: an option that another one would silently override is refused
    ("main", nothing, ["--action_prior", "parrot_action", "--prior_n_step", "3"], 2, "drop --prior_n_step 3", NO_RUN),
    ("main", nothing, ["--action_prior", "parrot_state", "--prior_n_step", "2"], 2, "drop --prior_n_step 2", NO_RUN),
    (
        "main",
        nothing,
        ["--action_prior", "parrot_image", "--visual", "True", "--prior_n_step", "4"],
        2,
        "drop --prior_n_step 4",
        NO_RUN,
    ),
    (
        "main",
        nothing,
        ["--action_prior", "flow", "--prior_model", "gaussian"],
        2,
        "drop --prior_model gaussian",
        NO_RUN,
    ),
    (
        "main",
        nothing,
        ["--action_prior", "parrot_action", "--prior_model", "lscde"],
        2,
        "drop --prior_model lscde",
        NO_RUN,
    ),
    ("main", nothing, ["--use_polyrl", "True", "--use_prior", "True"], 2, "--prior_initial False", NO_RUN),
    ("main", nothing, ["--visual", "True", "--bc_epochs", "3"], 2, "drop --bc_epochs", NO_RUN),
    (
        "grid",
        spec_file(SPEC.replace("[sac]", "[parrot_action]") + "params: {prior_n_step: 3}\n"),
        ["{tmp}/spec.yaml", "--prepare_only"],
        2,
        "drop --prior_n_step 3",
        NO_RUN + NO_DATA,
    ),
    ("main", without_wandb, ["--env", "room-v1", "--track", "True"], 2, "needs Weights & Biases", NO_RUN),
]
# The same classes through the real scripts, in fresh interpreters.
SUBPROCESS_ROWS = [
    ("main", nothing, ["--lr", "-1e-3"], 2, "--lr -0.001 is below its minimum", NO_RUN),
    ("main", nothing, ["--env", "room-v1", "--epochs", "1e15"], 2, "lower --epochs", NO_RUN),
    ("flows", nothing, ["--num_hidden", "1e12"], 2, "lower --num_hidden", NO_PRIOR),
    (
        "grid",
        spec_file(SPEC.replace("[0]", "[1099511627776]")),
        ["{tmp}/spec.yaml", "--prepare_only"],
        2,
        "above numpy's largest seed",
        NO_RUN,
    ),
    ("collect", nothing, ["--env", "point-maze", "--num_trajs", "-5"], 2, "--num_trajs -5", NO_DATA),
    ("evaluate", nothing, ["{tmp}/logs/r_s0", "--episodes", "-5"], 2, "--episodes -5", ()),
]


def _written(tmp_path, globs):
    return [str(path) for pattern in globs for path in tmp_path.glob(pattern)]


def _row_id(row) -> str:
    entry, setup, argv = row[:3]
    return f"{entry}-{setup.__name__}-{' '.join(argv)[:60]!r}"


@pytest.mark.parametrize("entry,setup,argv,status,fragment,absent", ROWS, ids=[_row_id(row) for row in ROWS])
def test_bad_values_stop_with_one_line_before_any_work(
    entry, setup, argv, status, fragment, absent, tmp_path, monkeypatch, capsys
):
    setup(tmp_path, monkeypatch)
    with pytest.raises(SystemExit) as stop:
        COMMANDS[entry](_argv(argv, tmp_path))
    assert stop.value.code == status
    _check_line(capsys.readouterr().err, fragment)
    assert not _written(tmp_path, absent)


@pytest.mark.parametrize(
    "entry,setup,argv,status,fragment,absent", SUBPROCESS_ROWS, ids=[_row_id(row) for row in SUBPROCESS_ROWS]
)
def test_bad_values_through_the_scripts(entry, setup, argv, status, fragment, absent, tmp_path, monkeypatch):
    setup(tmp_path, monkeypatch)
    result = run_script(SCRIPTS[entry], argv, tmp_path)
    assert result.returncode == status, result.stderr
    _check_line(result.stderr, fragment)
    assert not _written(tmp_path, absent)


@pytest.mark.parametrize(
    "argv,key,value",
    [
        (["--target_entropy", "-1e-1", "--autotune_alpha", "True"], "target_entropy", "-1e-1"),
        (["--target_entropy=-2", "--autotune_alpha"], "target_entropy", "-2"),
        (["--target_entropy", "-3", "--autotune_alpha", "True", "--seed", "4294967295"], "seed", 4294967295),
        (["--env", "hopper-biased", "--bias", "-0.5"], "bias", -0.5),
        (["--beta", "-1"], "beta", -1.0),
        (["--env", "hopper-sparse", "--sparsity", "-1e-3"], "sparsity", None),  # refused by its rule: see below
    ],
)
def test_valid_negative_values_are_accepted(argv, key, value):
    if value is None:
        with pytest.raises(UserError, match="below its minimum"):
            load_rl_params(argv)
        return
    params, _ = load_rl_params(argv)
    assert params.value(key) == value


def test_a_config_file_with_negative_values_is_accepted(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"target_entropy": "-2", "autotune_alpha": True, "beta": -0.25}))
    params, _ = load_rl_params(["--config", str(tmp_path / "run.json")])
    assert (params.target_entropy, params.lambda_bonus) == ("-2", -0.25)
    assert parse_train_params(["--env", "point-maze", "--seed", "4294967295"]).seed == 4294967295


def test_a_tracked_spec_needs_wandb(tmp_path, monkeypatch, capsys):
    """`track: true` without W&B installed: refused by the spec check (also --prepare_only), not by every run."""
    monkeypatch.setitem(sys.modules, "wandb", None)
    (tmp_path / "spec.yaml").write_text(SPEC + "params: {track: true}\n")
    with pytest.raises(SystemExit) as stop:
        COMMANDS["grid"]([str(tmp_path / "spec.yaml"), "--prepare_only"])
    assert stop.value.code == 2
    _check_line(capsys.readouterr().err, "room-v1/sac: --track True needs Weights & Biases")
    assert not _written(tmp_path, NO_RUN)


@pytest.mark.parametrize(
    "argv,name",
    [
        (["--env", "room-v1"], "room-v1__sac"),
        (["--env", "room-v1", "--epochs", "3", "--steps_per_epoch", "500", "--seed", "2"], "room-v1__sac"),
        (["--env", "window-close-v2", "--use_prior", "True", "--alpha", "0.01"], "window-close-v2__sfp"),
        (
            ["--env", "corridor-v1", "--use_prior", "True", "--alpha", "0.01", "--expert", "fixed"],
            "corridor-v1__sfp_fixed",
        ),
        (["--env", "window-open-v2", "--bc_epochs", "10"], "window-open-v2__sac_bc"),
        (["--env", "room-v1", "--action_noise", "pink", "--autotune_alpha", "True"], "room-v1__pink_auto"),
        (["--env", "room-v1", "--alpha", "0.05"], "room-v1__sac+alpha0.05"),
        (["--env", "room-v1", "--use_prior", "True"], "room-v1__sac+use_priorTrue"),
        (
            [
                "--env",
                "window-close-v2",
                "--use_prior",
                "True",
                "--alpha",
                "0.01",
                "--autotune_alpha",
                "True",
                "--target_entropy",
                "-2",
            ],
            "window-close-v2__sfp_auto+target_entropy-2",
        ),
        (["--env", "room-v1", "--exp_name", "mine"], "mine"),
    ],
)
def test_a_run_is_named_by_its_task_and_method(argv, name):
    params, _ = load_rl_params(argv)
    assert params.exp_name == name


def test_the_peer_reference_is_named_as_its_preset():
    params, _ = load_rl_params(["--env", "room-v1"], command=PEER_COMMAND)
    assert params.exp_name == "room-v1__sb3_sac"


def test_a_default_name_is_never_too_long():
    params, _ = load_rl_params(
        [
            "--env",
            "button-press-topdown-v2",
            "--lr",
            "0.000123456",
            "--gamma",
            "0.987654",
            "--polyak",
            "0.99123",
            "--hid",
            "123",
            "--l",
            "3",
            "--replay_k",
            "7",
            "--prioritize",
            "True",
            "--prioritize_alpha",
            "0.123",
            "--sil",
            "True",
            "--sil_weight",
            "0.5",
            "--n_step_rew",
            "3",
            "--lambda_init",
            "0.5",
            "--clip_gradients",
            "True",
            "--prior_smoothing",
            "0.1",
            "--neg_rew",
            "True",
        ]
    )
    assert params.exp_name.startswith("button-press-topdown-v2__") and len(params.exp_name) <= 200


def test_a_broken_parameter_file_names_the_real_file(tmp_path):
    """`git checkout` of the symlink beside main.py restores the link; the hint names the file it points to."""
    target = tmp_path / "real.json"
    target.write_text("{ broken")
    link = tmp_path / "default_params.json"
    link.symlink_to(target)
    with pytest.raises(UserError, match=f"restore {target}"):
        load_defaults(link, RLParams)
    target.write_text("[]")
    with pytest.raises(UserError, match=f"restore {target}"):
        load_defaults(link, RLParams)


def test_the_shipped_parameter_files_are_named_by_their_real_path():
    """main.py and flows/train.py read symlinks; the parsers' own paths are the files behind them."""
    for link, real in (
        (ROOT / "default_params.json", PARAMS_FILE),
        (ROOT / "flows" / "default_params.json", PRIOR_PARAMS_FILE),
    ):
        assert link.resolve() == real and not real.is_symlink()
