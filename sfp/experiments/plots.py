"""Figures and tables of a grid's runs, written by the sfp-plot command (sfp/commands/plot.py, scripts/plot.py)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from rliable import plot_utils  # noqa: E402

from sfp.experiments.analysis import (  # noqa: E402
    AGGREGATES,
    PRIOR_USE,
    REPS,
    aggregates,
    aligned,
    code_and_compute,
    counted,
    group,
    improvement,
    mean_band,
    mixing_groups,
    profiles,
    read_runs,
    run_scores,
    score_matrix,
    seed_mean,
)
from sfp.experiments.grid import snapshot_logs  # noqa: E402
from sfp.paths import ensure_dir  # noqa: E402

SUCCESS, RETURN, TRAIN_SUCCESS = "AverageTestSuccessRate", "AverageTestEpRet", "AverageSuccessRate"


Style = tuple[str, str]  # (matplotlib colour, line style)


def line_styles(groups) -> dict[str, Style]:
    """{method: (colour, line style)} for the methods of `groups`: one colour per family (the method up to its
    entropy weight, RunLog.family; a run without one is its own family), a solid line for the family's own preset,
    dotted for its autotuned preset (<family>_auto) and dashed for any other variant, so that a figure with many
    entropy settings still tells families and settings apart."""
    family = {method: runs[0].family or method for (_, method), runs in groups.items()}
    families = sorted(set(family.values()))

    def line(method: str) -> str:
        return "-" if method == family[method] else ":" if method == f"{family[method]}_auto" else "--"

    return {method: (f"C{families.index(family[method]) % 10}", line(method)) for method in family}


def plot_curves(groups, column: str, label: str, path: Path, styles: dict[str, Style]) -> None:
    """One panel per task of `column` against environment steps (see plot_bands)."""
    plot_bands(groups, lambda runs: aligned(runs, column), label, "environment steps", path, styles)


def plot_bands(
    groups, curves, label: str, xlabel: str, path: Path, styles: dict[str, Style], ylim: tuple | None = None
) -> None:
    """One panel per task, one line per method: the mean over seeds of `curves(runs)` -> (steps (T,), values
    (seeds, T)) with its bootstrap band, in the method's style (line_styles of the whole report, so a method looks
    the same in every figure of it)."""
    tasks = list(dict.fromkeys(task for task, _ in groups))
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.2), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        for (group_task, method), runs in groups.items():
            if group_task != task:
                continue
            steps, values = curves(runs)
            mean, low, high = mean_band(values)
            color, line = styles[method]
            axis.plot(steps, mean, color=color, linestyle=line, label=f"{method} ({counted(len(runs), 'seed')})")
            axis.fill_between(steps, low, high, color=color, alpha=0.25 if len(styles) <= 4 else 0.1)
        axis.set_title(task)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(label)
        if ylim:
            axis.set_ylim(*ylim)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _interval(estimate) -> str:
    point, low, high = estimate
    return f"{point:.2f} [{low:.2f}, {high:.2f}]"


def method_scores(groups, last: int) -> dict[str, dict]:
    """Per method: its tasks and its score matrices (runs, tasks) {"final", "auc"} of the test success rate."""
    per_method: dict[str, dict] = {}
    for (task, method), runs in groups.items():
        scores = np.array([run_scores(run, SUCCESS, last) for run in runs])
        entry = per_method.setdefault(method, {"tasks": [], "final": [], "auc": []})
        entry["tasks"].append(task)
        entry["final"].append(scores[:, 0])
        entry["auc"].append(scores[:, 1])
    return {
        method: {"tasks": entry["tasks"], **{key: score_matrix(entry[key]) for key in ("final", "auc")}}
        for method, entry in per_method.items()
    }


def task_table(groups, last: int) -> list[str]:
    lines = [
        f"Test success rate (deterministic policy): final = mean of the last {last} epochs, AUC = mean over all "
        "epochs; exploration = success rate of the training episodes (the behaviour policy, e.g. SFP's mixture) "
        "over all epochs; mean over seeds [95 % bootstrap interval over seeds, rliable].",
        "",
        "| task | method | seeds | steps | final | AUC | exploration |",
        "|---|---|---|---|---|---|---|",
    ]
    for (task, method), runs in groups.items():
        steps = min(int(run.steps[-1]) for run in runs)
        scores = np.array([run_scores(run, SUCCESS, last) for run in runs])
        exploration = np.array([run_scores(run, TRAIN_SUCCESS, last)[1] for run in runs])
        lines.append(
            f"| {task} | {method} | {len(runs)} | {steps:,} | {_interval(seed_mean(scores[:, 0]))} | "
            f"{_interval(seed_mean(scores[:, 1]))} | {_interval(seed_mean(exploration))} |"
        )
    return lines


def aggregate_table(per_method: dict) -> list[str]:
    lines = [
        "Across tasks and seeds (rliable): interquartile mean, mean and optimality gap (1 - mean of min(score, "
        f"1); lower is better) [95 % stratified bootstrap interval: seeds resampled within each task, {REPS:,} "
        "resamples].",
        "",
        f"| method | runs | score | {' | '.join(AGGREGATES)} |",
        "|---|---|---|---|---|---|",
    ]
    for method, entry in per_method.items():
        for key, label in (("final", "final"), ("auc", "AUC")):
            estimates = aggregates(entry[key])
            lines.append(
                f"| {method} | {entry[key].size} | {label} | "
                f"{' | '.join(_interval(estimates[name]) for name in AGGREGATES)} |"
            )
    return lines


def improvement_table(per_method: dict) -> list[str]:
    lines = [
        "Probability of improvement (rliable): P(X > Y), the probability that a run of X scores higher than a "
        "run of Y on the same task (ties count half), averaged over the tasks both ran [95 % stratified "
        "bootstrap interval]; above 0.5 favours X.",
        "",
        "| X | Y | tasks | P(X > Y) final | P(X > Y) AUC |",
        "|---|---|---|---|---|",
    ]
    rows = {}
    methods = list(per_method)
    for i, x in enumerate(methods):
        for y in methods[i + 1 :]:
            shared = [task for task in per_method[x]["tasks"] if task in per_method[y]["tasks"]]
            if not shared:
                continue
            cols = {m: [per_method[m]["tasks"].index(task) for task in shared] for m in (x, y)}
            estimates = [
                improvement(per_method[x][key][:, cols[x]], per_method[y][key][:, cols[y]]) for key in ("final", "auc")
            ]
            # on the same resamples P(Y > X) = 1 - P(X > Y) exactly (Mann-Whitney counts), so its interval mirrors
            rows[x, y] = (len(shared), estimates)
            rows[y, x] = (len(shared), [(1 - point, 1 - high, 1 - low) for point, low, high in estimates])
    for (x, y), (tasks, estimates) in sorted(rows.items(), key=lambda item: [methods.index(m) for m in item[0]]):
        lines.append(f"| {x} | {y} | {tasks} | {_interval(estimates[0])} | {_interval(estimates[1])} |")
    return lines


def alpha_table(groups) -> list[str]:
    """The entropy weight each autotuned run ended at (the groups whose Alpha column moved), per task and method."""
    lines = []
    for (task, method), runs in groups.items():
        if not all(
            "Alpha" in run.columns and np.nanmax(run.columns["Alpha"]) > np.nanmin(run.columns["Alpha"]) for run in runs
        ):
            continue
        ends = [float(run.columns["Alpha"][-1]) for run in runs]
        steps = min(int(run.steps[-1]) for run in runs)
        lines.append(
            f"| {task} | {method} | {len(runs)} | {steps:,} | {np.mean(ends):.3g} | "
            f"{', '.join(f'{end:.3g}' for end in ends)} |"
        )
    if not lines:
        return []
    return [
        "Entropy weight of the autotuned runs at their last epoch (alpha; the paper's settings use 0.2, and 0.01 "
        "for SFP):",
        "",
        "| task | method | seeds | steps | alpha, mean | alpha per seed |",
        "|---|---|---|---|---|---|",
        *lines,
        "",
    ]


def best_setting_table(groups, per_method: dict) -> list[str]:
    """Each method family at its better entropy setting: among the methods of one family (runs.family: a method
    up to alpha, e.g. sac, sac_auto, sac_a001), the one with the highest mean AUC on the tasks every setting of the
    family ran (the mean over those tasks of each task's mean over seeds, so a setting that ran fewer or easier tasks
    gains nothing from it); then the aggregates and probabilities of improvement of the chosen ones. Empty when no
    family has two settings."""
    families: dict[str, list[str]] = {}
    for (_, method), runs in groups.items():
        family = runs[0].family or method
        if method not in families.setdefault(family, []):
            families[family].append(method)
    if all(len(methods) == 1 for methods in families.values()):
        return []
    mean_auc, shared_tasks = {}, {}
    for family, methods in families.items():
        shared = [
            task for task in per_method[methods[0]]["tasks"] if all(task in per_method[m]["tasks"] for m in methods)
        ]
        shared_tasks[family] = shared
        for method in methods:
            columns = [per_method[method]["tasks"].index(task) for task in shared]
            mean_auc[method] = float(per_method[method]["auc"][:, columns].mean(axis=0).mean()) if shared else np.nan

    def rank(method: str) -> float:  # a family whose settings share no task ranks them all alike
        return float(np.nan_to_num(mean_auc[method], nan=-1.0))

    chosen = {family: max(methods, key=lambda m: (rank(m), m)) for family, methods in families.items()}
    lines = [
        "Each method family at its better entropy setting. Rule: within a family (one method at different "
        "alpha settings: fixed 0.2, fixed 0.01, autotuned), the setting with the highest mean test-success AUC "
        "on the tasks all its settings ran (mean over those tasks of the mean over seeds). The choice is made on "
        "the same runs that are then scored, so it is a selection: each family gets its best, and the intervals "
        "below do not account for the choice.",
        "",
        "| family | chosen | tasks compared | mean AUC of each setting |",
        "|---|---|---|---|",
    ]
    for family, methods in families.items():
        settings = ", ".join(f"{m} {mean_auc[m]:.2f}" for m in sorted(methods, key=lambda m: -rank(m)))
        lines.append(f"| {family} | {chosen[family]} | {len(shared_tasks[family])} | {settings} |")
    best = {method: per_method[method] for method in chosen.values()}
    return lines + [""] + aggregate_table(best) + [""] + improvement_table(best) + [""]


def results_table(groups, last: int) -> str:
    """The report <out>.md: per task and method, then the aggregates and the probabilities of improvement, the
    entropy weights of autotuned runs and, for families run at several alpha settings, each at its better one."""
    per_method = method_scores(groups, last)
    return (
        "\n".join(
            task_table(groups, last)
            + [""]
            + aggregate_table(per_method)
            + [""]
            + improvement_table(per_method)
            + [""]
            + alpha_table(groups)
            + best_setting_table(groups, per_method)
        ).rstrip("\n")
        + "\n"
    )


def plot_profiles(per_method: dict, path: Path, styles: dict[str, Style], last: int) -> None:
    """rliable performance profiles of the final score and the AUC: fraction of runs above each threshold."""
    taus = np.linspace(0.0, 1.0, 101)
    figure, axes = plt.subplots(1, 2, figsize=(9.0, 3.4))
    for axis, (key, label) in zip(
        axes, (("final", f"final test success (last {last} epochs)"), ("auc", "test success AUC"))
    ):
        curves, bands = profiles({method: entry[key] for method, entry in per_method.items()}, taus)
        plot_utils.plot_performance_profiles(
            curves,
            taus,
            performance_profile_cis=bands,
            colors={method: styles[method][0] for method in per_method},
            linestyles={method: styles[method][1] for method in per_method},
            ax=axis,
            xlabel=rf"{label} $\tau$",
            ylabel=r"fraction of runs above $\tau$",
            labelsize="medium",
            ticklabelsize="small",
            legend=True,
            legendsize="small",
            xticks=[0.0, 0.25, 0.5, 0.75, 1.0],
        )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_curves(runs, path: Path) -> None:
    rows = ["task,method,seed,steps,test_success,test_return"]
    for run in runs:
        for step, success, ret in zip(run.steps, run.columns[SUCCESS], run.columns[RETURN]):
            rows.append(f"{run.task},{run.method},{run.seed},{int(step)},{success:.4f},{ret:.4f}")
    path.write_text("\n".join(rows) + "\n")


def write_report(runs_dirs: list[Path], out: Path, last: int, snapshot: Path | None) -> str:
    """Figures, the results table and the curves of the runs in `runs_dirs`, written under the prefix `out`;
    returns the text to print."""
    directories = [path for path in runs_dirs if path.is_dir()]
    runs = read_runs(directories)  # first: no folder is made for a report that has no runs
    ensure_dir(out.parent, "choose another --out")  # an unusable output path fails before any figure is drawn
    if snapshot:
        snapshot_logs(directories, snapshot)
    groups = group(runs)
    styles = line_styles(groups)
    figures = {
        "_success.png": (groups, SUCCESS, "test success rate"),
        "_return.png": (groups, RETURN, "test return"),
        "_exploration.png": (groups, TRAIN_SUCCESS, "training-episode success (exploration)"),
        "_prior_use.png": (mixing_groups(groups), PRIOR_USE, "share of actions from the prior"),
    }
    written = []
    for suffix, (shown, column, label) in figures.items():
        if shown:
            plot_curves(shown, column, label, out.with_name(out.name + suffix), styles)
            written.append(f"{out}{suffix}")
    plot_profiles(method_scores(groups, last), out.with_name(out.name + "_profiles.png"), styles, last)
    written.append(f"{out}_profiles.png")
    table = results_table(groups, last) + "\n" + code_and_compute(runs) + "\n"
    out.with_name(out.name + ".md").write_text(table)
    write_curves(runs, out.with_name(out.name + "_curves.csv"))
    return f"{table}\nwrote {', '.join(written)}, {out}.md, {out}_curves.csv"
