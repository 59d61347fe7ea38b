"""Statistics of scripts/plot.py against hand-worked values, and the plot script end to end on fake logs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sfp.commands.plot import OUTPUTS
from sfp.errors import UserError
from sfp.experiments import analysis
from sfp.experiments.analysis import aggregates, group, improvement, interval, mean_band, mixing_groups

profiles, read_runs, run_scores, score_matrix = (
    analysis.profiles,
    analysis.read_runs,
    analysis.run_scores,
    analysis.score_matrix,
)

ROOT = Path(__file__).resolve().parents[1]


def test_rliable_iqm_and_aggregates_of_a_hand_made_score_matrix():
    # 4 runs x 2 tasks; the 8 scores sorted are 0, .1, .2, .3, .4, .5, .6, 1: the IQM drops the lowest and highest
    # two and averages .2 .3 .4 .5 = 0.35; the mean is 3.1 / 8; the optimality gap 1 - 3.1 / 8
    scores = np.array([[0.0, 0.4], [0.1, 0.5], [0.2, 0.6], [0.3, 1.0]])
    estimates = aggregates(scores)
    assert estimates["IQM"][0] == pytest.approx(0.35)
    assert estimates["mean"][0] == pytest.approx(3.1 / 8)
    assert estimates["optimality gap"][0] == pytest.approx(1 - 3.1 / 8)
    for point, low, high in estimates.values():
        assert low <= point <= high and low < high


def test_the_stratified_bootstrap_resamples_within_tasks():
    # task 0 always scores 0 and task 1 always 1: any resample within tasks keeps the mean at 0.5 exactly, while
    # resampling across tasks would not
    scores = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    assert aggregates(scores)["mean"] == pytest.approx((0.5, 0.5, 0.5))


def test_probability_of_improvement_by_hand():
    better, worse = np.array([[0.9, 0.8], [1.0, 0.7]]), np.array([[0.1, 0.2], [0.0, 0.3], [0.2, 0.1]])
    assert improvement(better, worse) == pytest.approx((1.0, 1.0, 1.0))  # every run of X above every run of Y
    assert improvement(worse, better) == pytest.approx((0.0, 0.0, 0.0))
    assert improvement(better, better)[0] == pytest.approx(0.5)
    # one task: X = (1, 0), Y = (0.5, 0.5): of the 4 pairs X wins 2 -> 0.5; a second task X (1, 1) vs Y (0, 0) -> 1
    x, y = np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.5, 0.0], [0.5, 0.0]])
    point, low, high = improvement(x, y)
    assert point == pytest.approx(0.75) and 0.5 <= low <= point <= high <= 1.0


def test_intervals_are_reproducible_and_leave_numpy_global_state_alone():
    scores = np.random.default_rng(3).random((5, 3))
    np.random.seed(7)
    expected_next = np.random.random()
    np.random.seed(7)
    first = aggregates(scores)
    assert np.random.random() == expected_next
    assert aggregates(scores) == first


def test_mean_band_brackets_the_mean_and_vanishes_for_identical_seeds():
    values = np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 1.0]])
    mean, low, high = mean_band(values)
    np.testing.assert_allclose(mean, [0.5, 1.0])
    assert low[0] < 0.5 < high[0] and low[1] == high[1] == 1.0
    assert 0.0 <= low[0] and high[0] <= 1.0
    point, low, high = interval(values[:, :1], lambda s: s.mean())
    assert point.shape == low.shape == high.shape == ()


def test_performance_profile_counts_runs_above_each_threshold():
    scores = np.array([[0.0, 0.5], [1.0, 0.5]])
    curves, bands = profiles({"m": scores}, np.array([0.0, 0.25, 0.75]))
    np.testing.assert_allclose(curves["m"], [0.75, 0.75, 0.25])  # scores > tau among 0, .5, 1, .5
    assert bands["m"].shape == (2, 3)


def test_score_matrix_keeps_as_many_seeds_per_task_as_the_task_with_fewest():
    matrix = score_matrix([np.array([0.1, 0.2, 0.3]), np.array([0.4, 0.5])])
    np.testing.assert_allclose(matrix, [[0.1, 0.4], [0.2, 0.5]])


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
    assert run_scores(groups[("corridor-v1", "sfp")][0], "AverageTestSuccessRate", last=2) == pytest.approx((0.75, 0.5))


def _provenance(directory: Path, *git_states) -> None:
    (directory / "provenance.json").write_text(json.dumps([{"git": state} for state in git_states]))


def test_the_report_names_each_code_version_and_sums_the_compute(tmp_path):
    first, second, third = (_fake_run(tmp_path, "g__maze-v1__sfp", "maze-v1", seed, [0.0, 1.0]) for seed in range(3))
    a, b = "a" * 40, "b" * 40
    _provenance(first, {"commit": a, "dirty": False}, {"commit": a, "dirty": False})  # started, then resumed
    _provenance(second, {"commit": a, "dirty": False})
    for directory, hours in ((first, 1.0), (second, 0.5), (third, 0.25)):
        text = (directory / "progress.txt").read_text().replace("AveragePriorP", "AveragePriorP\tTime")
        lines = text.splitlines()
        lines = [lines[0]] + [f"{line}\t{hours * 3600 * (i + 1) / 2}" for i, line in enumerate(lines[1:])]
        (directory / "progress.txt").write_text("\n".join(lines) + "\n")
    runs = read_runs([first, second])
    assert runs[0].commits == (a, a)
    assert analysis.code_and_compute(runs) == (
        f"Code: one code version: `{a[:12]}` (2 of 2 runs). Compute: 1.5 "
        f"run-hours (the sum of the 2 runs' Time column)."
    )
    _provenance(second, {"commit": a, "dirty": False}, {"commit": b, "dirty": True})  # resumed at a modified b
    text = analysis.code_and_compute(read_runs([first, second, third]))
    assert text.startswith("Code: 3 code versions (check before comparing): ")
    assert f"`{a[:12]}` (2 of 3 runs)" in text and f"`{b[:12]}+dirty` (1 of 3 runs)" in text
    assert "`no provenance.json` (1 of 3 runs)" in text and "Compute: 1.8 run-hours" in text


def test_prior_use_is_shown_only_for_methods_that_drew_from_a_prior(tmp_path):
    dirs = [
        _fake_run(tmp_path, "g__maze-v1__sfp", "maze-v1", 0, [0.0, 1.0], prior_use=0.9),
        _fake_run(tmp_path, "g__maze-v1__sac", "maze-v1", 0, [0.0, 0.0]),
    ]
    legacy = tmp_path / "g__maze-v1__old_s0"  # a log from before the column existed
    legacy.mkdir()
    (legacy / "config.json").write_text(json.dumps({"exp_name": "g__maze-v1__old", "env": "maze-v1", "seed": 0}))
    (legacy / "progress.txt").write_text("Epoch\tTotalEnvInteracts\tAverageTestSuccessRate\n1\t1000\t0.5\n")
    assert list(mixing_groups(group(read_runs([*dirs, legacy])))) == [("maze-v1", "sfp")]


def test_plot_script_writes_figures_table_and_curves(tmp_path):
    dirs = [
        _fake_run(
            tmp_path / "logs",
            f"g__{task}__{method}",
            task,
            seed,
            list(np.linspace(0, score, 4)),
            prior_use=0.8 if method == "sfp" else 0.0,
        )
        for task in ("corridor-v1", "maze-v1")
        for method, score in (("sfp", 1.0), ("sac", 0.2))
        for seed in (0, 1, 2)
    ]
    _provenance(dirs[0], {"commit": "c" * 40, "dirty": False})
    out = tmp_path / "results" / "maze"
    result = subprocess.run(
        [
            sys.executable,
            "scripts/plot.py",
            *map(str, dirs),
            "--out",
            str(out),
            "--snapshot",
            str(tmp_path / "committed"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for suffix in OUTPUTS:
        assert Path(f"{out}{suffix}").stat().st_size > 0
    table = Path(f"{out}.md").read_text()
    assert "| corridor-v1 | sfp | 3 | 4,000 |" in table and "| sfp | 6 | final |" in table
    # sfp's last three epochs (1/3, 2/3, 1) beat sac's (0.2/3, 0.4/3, 0.2) in every run of both tasks
    assert "| sfp | sac | 2 | 1.00 [1.00, 1.00] | 1.00 [1.00, 1.00] |" in table
    assert "| sac | sfp | 2 | 0.00 [0.00, 0.00] | 0.00 [0.00, 0.00] |" in table
    assert (
        "Code: 2 code versions (check before comparing): `no provenance.json` (11 of 12 runs), `cccccccccccc` "
        "(1 of 12 runs)." in table
    )
    assert (tmp_path / "committed" / dirs[0].name / "provenance.json").read_text() == (
        dirs[0] / "provenance.json"
    ).read_text()
    assert len(Path(f"{out}_curves.csv").read_text().splitlines()) == 1 + 12 * 4
    copies = sorted((tmp_path / "committed").iterdir())
    assert (
        len(copies) == 12
        and (copies[0] / "progress.txt").read_text() == (dirs[0].parent / copies[0].name / "progress.txt").read_text()
    )


def _entropy_run(root: Path, name: str, config: dict, success: list[float], alpha: list[float] | None = None) -> Path:
    """A run directory <root>/<name>_s0 whose exp_name <grid>__<task>__<method> names its task and method."""
    directory = root / f"{name}_s0"
    directory.mkdir()
    (directory / "config.json").write_text(
        json.dumps({"exp_name": name, "env": name.split("__")[1], "seed": 0, **config})
    )
    rows = ["Epoch\tTotalEnvInteracts\tAverageTestSuccessRate\tAverageTestEpRet\tAverageSuccessRate\tAlpha"]
    alpha = alpha or [0.2] * len(success)
    rows += [f"{i + 1}\t{(i + 1) * 1000}\t{s}\t{s}\t{s}\t{a}" for i, (s, a) in enumerate(zip(success, alpha))]
    (directory / "progress.txt").write_text("\n".join(rows) + "\n")
    return directory


def test_each_family_at_its_better_alpha_and_the_alpha_autotuned_runs_ended_at(tmp_path):
    """sac at 0.2 never succeeds, sac_auto does (alpha 0.2 -> 0.01), sfp runs at one setting: sac's family picks
    sac_auto (higher mean AUC), sfp's has nothing to choose and no table appears for the paper's grid alone."""
    from sfp.experiments.plots import results_table

    paper = [
        _entropy_run(tmp_path, "g__room-v1__sac", {}, [0, 0, 0]),
        _entropy_run(tmp_path, "g__room-v1__sfp", {"use_prior": True, "alpha": 0.01}, [0, 1, 1], [0.01] * 3),
    ]
    tuned = _entropy_run(tmp_path, "t__room-v1__sac_auto", {"autotune_alpha": True}, [0, 1, 1], [0.2, 0.05, 0.01])
    assert [r.family for r in read_runs(paper + [tuned])] == ["sac", "sfp", "sac"]
    assert "better entropy setting" not in results_table(group(read_runs(paper)), last=1)
    table = results_table(group(read_runs(paper + [tuned])), last=1)
    assert "| room-v1 | sac_auto | 1 | 3,000 | 0.01 | 0.01 |" in table  # the only autotuned run, ending at 0.01
    assert "| sac | sac_auto | 1 | sac_auto 0.67, sac 0.00 |" in table and "| sfp | sfp | 1 | sfp 0.67 |" in table
    assert "| sfp | sac_auto | 1 | 0.50 [0.50, 0.50] | 0.50 [0.50, 0.50] |" in table  # the chosen ones compared


def test_the_better_alpha_is_chosen_on_the_tasks_every_setting_ran(tmp_path):
    """sac ran an easy task (AUC 0.9) and a hard one (0.1), sac_a001 only the hard one (0.3): over all their runs sac
    would win (0.5 > 0.3), on the task both ran sac_a001 does, and the table says one task was compared."""
    from sfp.experiments.plots import results_table

    dirs = [
        _entropy_run(tmp_path, "g__room-v1__sac", {}, [0.9] * 10),
        _entropy_run(tmp_path, "g__corridor-v1__sac", {}, [0.1] * 10),
        _entropy_run(tmp_path, "t__corridor-v1__sac_a001", {"alpha": 0.01}, [0.3] * 10),
    ]
    table = results_table(group(read_runs(dirs)), last=1)
    assert "| sac | sac_a001 | 1 | sac_a001 0.30, sac 0.10 |" in table


def test_a_family_shares_a_colour_and_each_entropy_setting_has_its_own_line_style(tmp_path):
    """Families sorted (pink, sac, sfp) give colours C0-C2; the preset itself is solid, <family>_auto dotted, any
    other variant (here sac at alpha 0.01) dashed."""
    from sfp.experiments.plots import line_styles

    configs = {
        "pink": {"action_noise": "pink"},
        "sac": {},
        "sac_auto": {"autotune_alpha": True},
        "sac_a001": {"alpha": 0.01},
        "sfp": {"use_prior": True, "alpha": 0.01},
    }
    dirs = [_entropy_run(tmp_path, f"g__room-v1__{method}", config, [0, 1]) for method, config in configs.items()]
    assert line_styles(group(read_runs(dirs))) == {
        "pink": ("C0", "-"),
        "sac": ("C1", "-"),
        "sac_a001": ("C1", "--"),
        "sac_auto": ("C1", ":"),
        "sfp": ("C2", "-"),
    }


def test_a_row_being_written_is_left_out_and_a_damaged_row_is_one_line(tmp_path):
    path = tmp_path / "progress.txt"
    path.write_text("Epoch\tAverageTestSuccessRate\n1\t0.5\n2\t1.0\n3\t0.")  # the run is writing epoch 3
    assert analysis.read_progress(path)["Epoch"].tolist() == [1.0, 2.0]
    path.write_text("Epoch\tAverageTestSuccessRate\n1\t0.5\n2\n3\t1.0\n")  # line 3 lost a field
    with pytest.raises(UserError, match=r"progress.txt: line 3 is not a row of 2 numbers; the file is damaged"):
        analysis.read_progress(path)
    path.write_text("Epoch\tAverageTestSuccessRate\n1\t0.5\n2\tx\n")  # a complete last line that is not numbers
    with pytest.raises(UserError, match="line 3 is not a row of 2 numbers"):
        analysis.read_progress(path)
    path.write_bytes(b"Epoch\tAverageTestSuccessRate\n1\t0.5\xff\n")  # not text at all
    with pytest.raises(UserError, match="progress.txt is not text; the file is damaged"):
        analysis.read_progress(path)


@pytest.mark.parametrize(
    "config", ["[1]", "{bad", '{"env": "room-v1", "seed": 0}', '{"exp_name": "x", "env": 3, "seed": 0}']
)
def test_a_run_with_a_damaged_config_is_one_line(config, tmp_path):
    (tmp_path / "config.json").write_text(config)
    (tmp_path / "progress.txt").write_text("Epoch\tTotalEnvInteracts\n1\t10\n")
    with pytest.raises(UserError, match="config.json is not a run's config.json"):
        analysis.read_run(tmp_path)
