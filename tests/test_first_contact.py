"""What a newcomer meets: a short epoch line on stdout, plot labels from a run's config.json, and a tracked run that
leaves the home directory alone."""

import json
import math

import numpy as np
import pytest

import main
from sfp import paths
from sfp.config import load_defaults
from sfp.experiments import plots
from sfp.experiments.analysis import code_and_compute, group, read_run
from sfp.rl.logger import EpochLogger, column_names, format_table
from sfp.rl.params import PARAMS_FILE, RLParams
from tests.tiny_runs import tiny_run

TINY = tiny_run(epochs=2, steps_per_epoch=150, start_steps=60, update_after=50, update_every=25, max_ep_len=100)
SHOWN = ("epoch", "steps", "test success", "return", "train success", "Alpha", "LossQ", "LossPi", "steps/s")


def full_row(**values) -> dict:
    """A progress row with every column nan except `values`."""
    return {**{name: math.nan for name in column_names()}, **values}


def test_the_epoch_line_shows_the_numbers_one_watches_and_the_prior_only_when_used():
    row = full_row(
        Epoch=3.0,
        TotalEnvInteracts=15000.0,
        AverageTestSuccessRate=0.4,
        AverageTestEpRet=-12.345,
        AverageSuccessRate=0.2,
        AverageEpRet=-30.0,
        Alpha=0.01,
        LossQ=0.12345,
        LossPi=-1.5,
        SPS=512.25,
        AveragePriorP=0.0,
        AverageQ1Vals=7.0,
    )
    line = format_table(row)
    assert "\n" not in line and len(line) < 200
    assert line.startswith("epoch 3, steps 15000 | test success 0.4, return -12.35 |")
    assert all(label in line for label in SHOWN) and line.endswith("steps/s 512.2")
    assert "Q1Vals" not in line and "7" not in line and "lambda" not in line and "prior" not in line
    with_prior = format_table({**row, "AverageLambda": 0.52, "AveragePriorP": 0.31})
    assert "| lambda 0.52, prior share 0.31 |" in with_prior


def test_each_epoch_prints_one_line_and_keeps_every_column_in_progress_txt(tmp_path, capsys):
    logger = EpochLogger(tmp_path / "run", tensorboard=False)
    for epoch in (1, 2):
        logger.store(EpRet=1.0, TestSuccessRate=0.5, LossQ=0.25)
        logger.log_epoch(epoch, 100 * epoch, updates=10 * epoch)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["epoch 1", "epoch 2"]
    assert (tmp_path / "run" / "progress.txt").read_text().splitlines()[0].split("\t") == column_names()


def write_run(root, name: str, config: dict, seed: int = 0):
    directory = root / f"{name}_s{seed}"
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({**config, "exp_name": name, "env": "room-v1", "seed": seed}))
    header = "Epoch\tTotalEnvInteracts\tAverageTestSuccessRate\tAverageTestEpRet\tAverageSuccessRate\tTime"
    (directory / "progress.txt").write_text(f"{header}\n1\t100\t0.5\t1\t0.5\t60\n2\t200\t1\t2\t0.5\t120\n")
    return directory


DEFAULTS = {key: value for key, (value, _) in load_defaults(PARAMS_FILE, RLParams).items()}


@pytest.mark.parametrize(
    "name, config, method",
    [
        ("default", {**DEFAULTS, "use_prior": True, "alpha": 0.01}, "sfp"),  # outside a grid: the matching preset
        ("default", {**DEFAULTS, "use_prior": True, "alpha": 0.01, "autotune_alpha": True}, "sfp_auto"),
        ("default", DEFAULTS, "sac"),
        ("mine", {**DEFAULTS, "use_prior": True, "alpha": 0.05}, "mine"),  # no preset matches: the exp_name
        ("maze__room-v1__sac_a001", {**DEFAULTS, "alpha": 0.01}, "sac_a001"),  # a grid run: its method part
        ("default", {"method": "sb3_sac", "total_steps": 200}, "sb3_sac"),  # the peer's config names it
    ],
)
def test_plot_labels_come_from_the_runs_config(tmp_path, name, config, method):
    run = read_run(write_run(tmp_path, name, config))
    assert (run.task, run.method) == ("room-v1", method)


def test_one_seed_and_one_run_are_counted_in_the_singular(tmp_path, monkeypatch):
    run = read_run(write_run(tmp_path, "default", DEFAULTS))
    assert "(1 of 1 run)" in code_and_compute([run]) and "(the run's Time column)" in code_and_compute([run])
    figures = []
    monkeypatch.setattr(plots.plt, "close", figures.append)
    monkeypatch.setattr(plots, "mean_band", lambda values: (values.mean(0),) * 3)  # no bootstrap needed here
    plots.plot_curves(
        group([run]), plots.SUCCESS, "test success", tmp_path / "curves.png", plots.line_styles(group([run]))
    )
    [figure] = figures
    assert [text.get_text() for text in figure.axes[0].get_legend().get_texts()] == ["sac (1 seed)"]


def test_a_tracked_run_creates_nothing_in_the_home_directory(tmp_path, monkeypatch, capsys):
    wandb = pytest.importorskip("wandb")
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    wandb.teardown()  # W&B's service process keeps the environment it started with
    try:
        main.main(TINY + ["--exp_name", "mine", "--track", "True", "--autotune_alpha", "True"])
    finally:
        wandb.teardown()
    assert sorted(path.relative_to(home).as_posix() for path in home.rglob("*")) == []
    assert list(cwd.iterdir()) == []
    epoch_lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and all("lambda" not in line for line in epoch_lines)
    run = read_run(paths.run_dir("mine", 0))
    assert (run.task, run.method, list(np.asarray(run.steps))) == ("corridor-v1", "sac_auto", [150, 300])
