"""Comparing methods across seeds and tasks (scripts/plot.py).

A run is a log directory with config.json and progress.txt. Its method is the last `__` part of its exp_name
(grids name runs <grid>__<task>__<method>), else the exp_name itself; its task is config.json's env.

Curves: mean over seeds with a 95 % bootstrap confidence band (seeds resampled with replacement). Scores per run:
`final` = the mean of the last `last` epochs, `auc` = the mean over all epochs (area under the curve, normalised
by its length). Aggregates across tasks and seeds: the interquartile mean (IQM: the mean of the middle 50 % of
runs) with a stratified bootstrap interval (runs resampled within each task), as recommended by Agarwal et al.
(2021, "Deep RL at the edge of the statistical precipice").
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sfp.errors import UserError

BOOTSTRAP = 2000
STEP = "TotalEnvInteracts"
PRIOR_USE = "AveragePriorP"  # share of the training actions drawn from the prior, per epoch


@dataclass
class RunLog:
    task: str
    method: str
    seed: int
    steps: np.ndarray  # (E,)
    columns: dict[str, np.ndarray]  # column -> (E,)


def read_progress(path: Path) -> dict[str, np.ndarray]:
    """progress.txt as {column: values (E,)}; empty when the file is missing or has no row yet."""
    lines = path.read_text().splitlines() if path.exists() else []
    if len(lines) < 2:
        return {}
    values = np.array([[float(v) for v in line.split("\t")] for line in lines[1:]])
    return {name: values[:, i] for i, name in enumerate(lines[0].split("\t"))}


def read_run(directory: Path) -> RunLog | None:
    """The run in `directory`, or None if it has no finished epoch yet."""
    config_path = directory / "config.json"
    columns = read_progress(directory / "progress.txt")
    if not (config_path.exists() and columns):
        return None
    config = json.loads(config_path.read_text())
    method = config["exp_name"].split("__")[-1]
    return RunLog(config["env"], method, int(config["seed"]), columns[STEP], columns)


def read_runs(directories: list[Path]) -> list[RunLog]:
    runs = [run for run in map(read_run, directories) if run is not None]
    if not runs:
        raise UserError("no run with a finished epoch among the given directories (they need config.json and "
                        "progress.txt)")
    return runs


def group(runs: list[RunLog]) -> dict[tuple[str, str], list[RunLog]]:
    """{(task, method): runs}, in first-seen order."""
    groups: dict[tuple[str, str], list[RunLog]] = {}
    for run in runs:
        groups.setdefault((run.task, run.method), []).append(run)
    return groups


def aligned(runs: list[RunLog], column: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps (E,), values (seeds, E)) over the epochs every run of the group has reached."""
    length = min(len(run.steps) for run in runs)
    return runs[0].steps[:length], np.stack([run.columns[column][:length] for run in runs])


def mixing_groups(groups: dict) -> dict:
    """The groups whose behaviour policy drew actions from a prior (a positive share of prior actions logged)."""
    return {key: runs for key, runs in groups.items()
            if all(PRIOR_USE in run.columns for run in runs) and np.any(aligned(runs, PRIOR_USE)[1] > 0)}


def bootstrap_mean_band(values: np.ndarray, rng: np.random.Generator, level: float = 0.95):
    """Mean over rows (seeds) and its bootstrap interval per column: (mean, low, high), each (E,)."""
    picks = rng.integers(0, len(values), (BOOTSTRAP, len(values)))
    means = values[picks].mean(axis=1)  # (BOOTSTRAP, E)
    tail = (1 - level) / 2 * 100
    return values.mean(axis=0), np.percentile(means, tail, axis=0), np.percentile(means, 100 - tail, axis=0)


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean: the mean of the scores between the 25th and 75th percentiles (inclusive of ties)."""
    scores = np.sort(scores)
    cut = int(np.floor(0.25 * len(scores)))
    middle = scores[cut:len(scores) - cut] if len(scores) > 2 * cut else scores
    return float(middle.mean())


def stratified_bootstrap_iqm(scores_by_task: list[np.ndarray], rng: np.random.Generator, level: float = 0.95):
    """IQM over all runs and its interval, resampling runs within each task. -> (iqm, low, high)."""
    estimates = []
    for _ in range(BOOTSTRAP):
        sample = np.concatenate([s[rng.integers(0, len(s), len(s))] for s in scores_by_task])
        estimates.append(iqm(sample))
    tail = (1 - level) / 2 * 100
    return iqm(np.concatenate(scores_by_task)), np.percentile(estimates, tail), np.percentile(estimates, 100 - tail)


def run_scores(run: RunLog, column: str, last: int) -> tuple[float, float]:
    """(final, auc) of one run: mean of the last `last` epochs, mean of all epochs."""
    values = run.columns[column]
    return float(values[-last:].mean()), float(values.mean())
