"""Statistics of scripts/plot.py against hand-worked values, and the plot script end to end on fake logs."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sfp.experiments.analysis import (
    bootstrap_mean_band,
    group,
    iqm,
    mixing_groups,
    read_runs,
    run_scores,
    stratified_bootstrap_iqm,
)

ROOT = Path(__file__).resolve().parents[1]


def test_interquartile_mean_by_hand():
    assert iqm(np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 100.0])) == pytest.approx(3.5)  # mean of 2..5
    assert iqm(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.0)


def test_bootstrap_band_brackets_the_mean_and_vanishes_for_identical_seeds():
    rng = np.random.default_rng(0)
    values = np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 1.0]])
    mean, low, high = bootstrap_mean_band(values, rng)
    np.testing.assert_allclose(mean, [0.5, 1.0])
    assert low[0] < 0.5 < high[0] and low[1] == high[1] == 1.0
    assert 0.0 <= low[0] and high[0] <= 1.0


def test_stratified_bootstrap_of_constant_scores_is_exact():
    rng = np.random.default_rng(0)
    assert stratified_bootstrap_iqm([np.full(3, 0.4), np.full(3, 0.4)], rng) == pytest.approx((0.4, 0.4, 0.4))


def _fake_run(root: Path, name: str, env: str, seed: int, success: list[float], prior_use: float = 0.0) -> Path:
    directory = root / f"{name}_s{seed}"
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({"exp_name": name, "env": env, "seed": seed}))
    rows = ["Epoch\tTotalEnvInteracts\tAverageTestSuccessRate\tAverageTestEpRet\tAverageSuccessRate\tAveragePriorP"]
    rows += [f"{i + 1}\t{(i + 1) * 1000}\t{s}\t{10 * s}\t{s / 2}\t{prior_use}" for i, s in enumerate(success)]
    (directory / "progress.txt").write_text("\n".join(rows) + "\n")
    return directory


def test_runs_are_grouped_by_task_and_method_and_scored(tmp_path):
    dirs = [_fake_run(tmp_path, "grid__corridor-v1__sfp", "corridor-v1", seed, [0.0, 0.5, 1.0]) for seed in (0, 1)]
    dirs.append(_fake_run(tmp_path, "grid__corridor-v1__sac", "corridor-v1", 0, [0.0, 0.0]))
    groups = group(read_runs(dirs))
    assert set(groups) == {("corridor-v1", "sfp"), ("corridor-v1", "sac")}
    assert run_scores(groups[("corridor-v1", "sfp")][0], "AverageTestSuccessRate", last=2) == \
        pytest.approx((0.75, 0.5))


def test_prior_use_is_shown_only_for_methods_that_drew_from_a_prior(tmp_path):
    dirs = [_fake_run(tmp_path, "g__maze-v1__sfp", "maze-v1", 0, [0.0, 1.0], prior_use=0.9),
            _fake_run(tmp_path, "g__maze-v1__sac", "maze-v1", 0, [0.0, 0.0])]
    legacy = tmp_path / "g__maze-v1__old_s0"  # a log from before the column existed
    legacy.mkdir()
    (legacy / "config.json").write_text(json.dumps({"exp_name": "g__maze-v1__old", "env": "maze-v1", "seed": 0}))
    (legacy / "progress.txt").write_text("Epoch\tTotalEnvInteracts\tAverageTestSuccessRate\n1\t1000\t0.5\n")
    assert list(mixing_groups(group(read_runs([*dirs, legacy])))) == [("maze-v1", "sfp")]


def test_plot_script_writes_figures_table_and_curves(tmp_path):
    dirs = [_fake_run(tmp_path / "logs", f"g__{task}__{method}", task, seed, list(np.linspace(0, score, 4)),
                      prior_use=0.8 if method == "sfp" else 0.0)
            for task in ("corridor-v1", "maze-v1") for method, score in (("sfp", 1.0), ("sac", 0.2))
            for seed in (0, 1, 2)]
    out = tmp_path / "results" / "maze"
    result = subprocess.run([sys.executable, "scripts/plot.py", *map(str, dirs), "--out", str(out), "--snapshot",
                             str(tmp_path / "committed")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for suffix in ("_success.png", "_return.png", "_exploration.png", "_prior_use.png", ".md", "_curves.csv"):
        assert Path(f"{out}{suffix}").stat().st_size > 0
    table = Path(f"{out}.md").read_text()
    assert "| corridor-v1 | sfp | 3 | 4,000 |" in table and "| sfp | 6 |" in table
    assert len(Path(f"{out}_curves.csv").read_text().splitlines()) == 1 + 12 * 4
    copies = sorted((tmp_path / "committed").iterdir())
    assert len(copies) == 12 and (copies[0] / "progress.txt").read_text() == (dirs[0].parent / copies[0].name /
                                                                              "progress.txt").read_text()
