"""Figures and tables of a grid's runs, written by the sfp-plot command (sfp/commands/plot.py, scripts/plot.py)."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sfp.experiments.analysis import (  # noqa: E402
    PRIOR_USE,
    aligned,
    bootstrap_mean_band,
    group,
    mixing_groups,
    read_runs,
    run_scores,
    stratified_bootstrap_iqm,
)
from sfp.experiments.grid import snapshot_logs  # noqa: E402

SUCCESS, RETURN, TRAIN_SUCCESS = "AverageTestSuccessRate", "AverageTestEpRet", "AverageSuccessRate"


def plot_curves(groups, column: str, label: str, path: Path, rng, methods: list[str]) -> None:
    """One panel per task; `methods` fixes each method's colour (its index), the same in every figure."""
    tasks = list(dict.fromkeys(task for task, _ in groups))
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.2), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        for (group_task, method), runs in groups.items():
            if group_task != task:
                continue
            steps, values = aligned(runs, column)
            mean, low, high = bootstrap_mean_band(values, rng)
            color = f"C{methods.index(method) % 10}"
            axis.plot(steps, mean, color=color, label=f"{method} ({len(runs)} seeds)")
            axis.fill_between(steps, low, high, color=color, alpha=0.25)
        axis.set_title(task)
        axis.set_xlabel("environment steps")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _interval(values: np.ndarray, rng) -> str:
    mean, low, high = (float(x[0]) for x in bootstrap_mean_band(values[:, None], rng))
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def results_table(groups, last: int, rng) -> str:
    lines = [f"Test success rate (deterministic policy): final = mean of the last {last} epochs, AUC = mean over all "
             "epochs; exploration = success rate of the training episodes (the behaviour policy, e.g. SFP's mixture) "
             "over all epochs; mean over seeds [95 % bootstrap interval].", "",
             "| task | method | seeds | steps | final | AUC | exploration |", "|---|---|---|---|---|---|---|"]
    by_method: dict[str, dict[str, list]] = {}
    for (task, method), runs in groups.items():
        steps = min(int(run.steps[-1]) for run in runs)
        scores = np.array([run_scores(run, SUCCESS, last) for run in runs])
        exploration = np.array([run_scores(run, TRAIN_SUCCESS, last)[1] for run in runs])
        lines.append(f"| {task} | {method} | {len(runs)} | {steps:,} | {_interval(scores[:, 0], rng)} | "
                     f"{_interval(scores[:, 1], rng)} | {_interval(exploration, rng)} |")
        by_method.setdefault(method, {"final": [], "auc": []})
        by_method[method]["final"].append(scores[:, 0])
        by_method[method]["auc"].append(scores[:, 1])
    lines += ["", "Across tasks and seeds: interquartile mean [95 % stratified bootstrap interval].", "",
              "| method | runs | IQM final | IQM AUC |", "|---|---|---|---|"]
    for method, scores in by_method.items():
        final, auc = (stratified_bootstrap_iqm(scores[key], rng) for key in ("final", "auc"))
        runs = sum(len(s) for s in scores["final"])
        lines.append(f"| {method} | {runs} | {final[0]:.2f} [{final[1]:.2f}, {final[2]:.2f}] | "
                     f"{auc[0]:.2f} [{auc[1]:.2f}, {auc[2]:.2f}] |")
    return "\n".join(lines) + "\n"


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
    runs = read_runs(directories)
    if snapshot:
        snapshot_logs(directories, snapshot)
    groups = group(runs)
    rng = np.random.default_rng(0)
    out.parent.mkdir(parents=True, exist_ok=True)
    methods = sorted({method for _, method in groups})
    figures = {"_success.png": (groups, SUCCESS, "test success rate"),
               "_return.png": (groups, RETURN, "test return"),
               "_exploration.png": (groups, TRAIN_SUCCESS, "training-episode success (exploration)"),
               "_prior_use.png": (mixing_groups(groups), PRIOR_USE, "share of actions from the prior")}
    written = []
    for suffix, (shown, column, label) in figures.items():
        if shown:
            plot_curves(shown, column, label, out.with_name(out.name + suffix), rng, methods)
            written.append(f"{out}{suffix}")
    table = results_table(groups, last, rng)
    out.with_name(out.name + ".md").write_text(table)
    write_curves(runs, out.with_name(out.name + "_curves.csv"))
    return f"{table}\nwrote {', '.join(written)}, {out}.md, {out}_curves.csv"
