"""Every method of the paper runs from main.py: a short epoch on a point maze, with real (tiny) priors."""

from pathlib import Path

import numpy as np
import pytest

from sfp import paths
from sfp.benchmarks.prior import default_flow_config
from sfp.data.synthetic import write_persistent_dataset
from sfp.priors.checkpoint import save_checkpoint
from sfp.priors.factory import build_model
from sfp.priors.params import parse_train_params
from sfp.priors.training import train_prior
from sfp.rl.methods import METHODS, flags
from sfp.rl.params import load_rl_params
from sfp.rl.run import run
from tests.tiny_runs import tiny_prior, tiny_run

SHORT_RUN = [*tiny_run(), "--exp_name", "baseline"]
TINY_PRIOR = tiny_prior()
PRIORS = [["--model", model] for model in ("flow", "deterministic", "gaussian", "vae", "lscde")] + [
    ["--mode", "state+goal"],
    ["--mode", "state"],
    ["--mode", "action+state"],
    ["--n_step", "3"],
    ["--one_step", "True"],
]


@pytest.fixture(scope="module")
def prior_root(tmp_path_factory):
    """A maze dataset and one tiny prior per model and conditioning (trained for one epoch)."""
    root = tmp_path_factory.mktemp("priors")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("D4RL_DATASET_DIR", str(root / "datasets"))
        patch.setenv("SFP_FLOW_DIR", str(root / "flows"))
        patch.setenv("SFP_LOG_DIR", str(root / "prior-logs"))
        paths.dataset_dir(create=True)
        write_persistent_dataset(paths.dataset_file("maze"), 12, 60)
        for extra in PRIORS:
            train_prior(parse_train_params(TINY_PRIOR + extra))
        write_persistent_dataset(paths.dataset_file("maze-fixed"), 12, 60)
        train_prior(parse_train_params(TINY_PRIOR + ["--expert", "fixed"]))  # the sfp_fixed preset's prior
        image = {
            **default_flow_config(2, 1),
            "short": "maze",
            "mode": "image",
            "cond_shape": [3, 64, 64],
            "cond_dim": 3 * 64 * 64,
            "num_blocks": 1,
            "num_hidden": 16,
            "pre_mlp_units": 8,
        }
        save_checkpoint(paths.prior_checkpoint("maze", "flow", "image", 1), build_model(image), image)
    return root


@pytest.fixture
def with_priors(prior_root, monkeypatch):
    monkeypatch.setenv("D4RL_DATASET_DIR", str(prior_root / "datasets"))
    monkeypatch.setenv("SFP_FLOW_DIR", str(prior_root / "flows"))


def _row(extra):
    params, notes = load_rl_params(SHORT_RUN + extra)
    trainer = run(params, notes)
    header, values = (paths.run_dir("baseline", 0) / "progress.txt").read_text().splitlines()
    row = dict(zip(header.split("\t"), map(float, values.split("\t"))))
    return trainer, row


# Every preset of the method table, made cheaper where a preset's own budget is large (later flags win) ...
CHEAPER = {"sac_bc": ["--bc_epochs", "1"], "sil": ["--sil_m", "1"]}
PRESETS = {
    name: flags(name) + CHEAPER.get(name, [])
    for name, method in METHODS.items()
    if method.command == "sfp.commands.train"
}  # sb3_sac: tests/test_rl_peer_sac.py
# ... and the variants a user reaches with extra flags.
VARIANTS = {
    "sfp_scalar_lambda_schedule": [
        "--use_prior",
        "True",
        "--lambda_param",
        "True",
        "--prior_schedule",
        "60",
        "--prior_smoothing",
        "0.3",
        "--prior_clamp",
        "0.5",
    ],
    "sfp_original_batch_mean": ["--use_prior", "True", "--lambda_batch_mean", "True", "--rand_init_cond", "False"],
    "sfp_frozen_lambda_plain_objective": [
        "--use_prior",
        "True",
        "--learn_lambda",
        "False",
        "--prior_objective",
        "False",
        "--prior_initial",
        "False",
    ],
    "sfp_three_step_window": ["--use_prior", "True", "--prior_n_step", "3"],
    "sfp_one_step_prior": ["--use_prior", "True", "--one_step", "True"],
    "sfp_state_prior": ["--use_prior", "True", "--prior_cond", "state"],
    "sfp_state_goal_prior": ["--use_prior", "True", "--prior_cond", "state+goal"],
    "sfp_action_state_prior": ["--use_prior", "True", "--prior_cond", "action+state"],
    "sfp_deterministic": ["--use_prior", "True", "--prior_model", "deterministic"],
    "sfp_gaussian": ["--use_prior", "True", "--prior_model", "gaussian"],
    "sfp_vae": ["--use_prior", "True", "--prior_model", "vae"],
    "sfp_lscde": ["--use_prior", "True", "--prior_model", "lscde"],
    "sac_bc_without_goals": ["--bc_epochs", "1", "--goal_cond", "False", "--her", "False"],
    "nstep": ["--action_prior", "nstep", "--prior_n_step", "3"],
    "diagonal": ["--action_prior", "diagonal", "--prior_n_step", "3"],
    "densediagonal": ["--action_prior", "densediagonal", "--prior_n_step", "3"],
    "no_her_one_step_returns_neg_rew": ["--her", "False", "--n_step_rew", "1", "--neg_rew", "True"],
    "terminate_on_success_with_goals": ["--terminate_on_success", "True"],
    "sfp_tuned_alpha_pink_noise": ["--use_prior", "True", "--autotune_alpha", "True", "--action_noise", "pink"],
    "kl_reg_tuned_alpha": ["--kl_reg", "True", "--prior_model", "gaussian", "--autotune_alpha", "True"],
}
RUNS = {**PRESETS, **VARIANTS}


@pytest.mark.parametrize("method", list(RUNS))
def test_method_runs_an_epoch(method, with_priors):
    trainer, row = _row(RUNS[method])
    assert trainer.finished and trainer.updates > 0
    assert row["TotalEnvInteracts"] == 120
    for column in ("LossQ", "LossPi", "AverageQ1Vals", "AverageTestEpRet"):
        assert np.isfinite(row[column]), column
    uses_prior = "--use_prior" in RUNS[method] and "--prior_initial" not in RUNS[method]
    if uses_prior:  # the first 40 steps act with the prior only
        assert row["MaxPriorP"] == 1.0


def test_sfp_learns_lambda_and_logs_it(with_priors):
    _, row = _row(RUNS["sfp"])
    assert 0.0 < row["AverageLambda"] < 1.0 and np.isfinite(row["LossLambda"])
    assert 0.0 < row["AverageMixingWeight"] <= 1.0


def test_the_rl_page_method_table_shows_every_preset():
    readme = (Path(__file__).resolve().parents[1] / "docs" / "rl.md").read_text()
    for name, method in METHODS.items():
        shown = " ".join(flags(name)) or "(defaults)"
        assert (
            f"| {method.label} (`{name}`) | `{shown}` | {method.needs} |" in readme
            or f"| {method.label} (`{name}`) | {shown} | {method.needs} |" in readme
        ), name
