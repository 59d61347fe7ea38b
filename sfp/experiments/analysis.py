"""Comparing methods across seeds and tasks (scripts/plot.py); every interval comes from rliable.

A run is a log directory with config.json and progress.txt. Its task is config.json's env; its method (see
run_method) is config.json's "method" (the peer sb3_sac writes it), else the last part of a grid run's exp_name
(<grid>__<task>__<method>), else the preset of sfp/rl/methods.py whose overrides the config has, else its exp_name.

Scores per run: `final` = the mean of the last `last` epochs, `auc` = the mean over all epochs (area under the
curve, normalised by its length). Seeds are runs and tasks are the strata (Agarwal et al. 2021, "Deep RL at the
edge of the statistical precipice", whose library rliable computes everything here): a method's scores form a
matrix (runs, tasks), and its intervals are percentile intervals of rliable's stratified bootstrap, which
resamples the runs within each task (REPS resamples, from the fixed seed SEED, so tables are reproducible).
Aggregates: interquartile mean (IQM: the mean of the middle 50 % of all runs' scores), mean, and optimality gap
(1 - mean of min(score, 1): how far from always succeeding; lower is better). The probability of improvement
P(X > Y) is the chance that a run of X scores higher than a run of Y on the same task (ties count half), averaged
over the tasks; performance profiles give the fraction of runs scoring above each threshold. Curves and per-task
scores are means over seeds with the same bootstrap over seeds (one task, one stratum).
"""

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
from rliable import library, metrics

from sfp.config import load_defaults
from sfp.errors import UserError
from sfp.provenance import PROVENANCE_FILE
from sfp.rl.methods import PRESET_KEYS, matching_preset
from sfp.rl.params import PARAMS_FILE, RLParams

REPS = 2000  # bootstrap resamples per interval
SEED = 0  # of numpy's global generator, which rliable's bootstrap draws from; restored afterwards
CONFIDENCE = 0.95
AGGREGATES = {
    "IQM": metrics.aggregate_iqm,
    "mean": metrics.aggregate_mean,
    "optimality gap": metrics.aggregate_optimality_gap,
}
STEP = "TotalEnvInteracts"
PRIOR_USE = "AveragePriorP"  # share of the training actions drawn from the prior, per epoch


@dataclass
class RunLog:
    task: str
    method: str
    seed: int
    steps: np.ndarray  # (E,)
    columns: dict[str, np.ndarray]  # column -> (E,)
    commits: tuple[str, ...] = ()  # the code version of each start of the run (provenance.json), "<sha>+dirty"
    family: str = ""  # the method up to its entropy weight (run_family): sac for sac, sac_auto and sac_a001


def read_progress(path: Path) -> dict[str, np.ndarray]:
    """progress.txt as {column: values (E,)}; empty when the file is missing or has no row yet. A last row without
    its line end is one being written right now and is left out; any other row that is not one number per column
    is a damaged file: UserError naming its line."""
    try:
        text = path.read_text() if path.exists() else ""
    except UnicodeDecodeError:
        raise UserError(
            f"{path} is not text; the file is damaged (restore it from a snapshot such as results/logs, or move the "
            "run away)"
        ) from None
    lines = text.splitlines()
    names = lines[0].split("\t") if lines else []
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if number == len(lines) and not text.endswith("\n"):
            break  # even a row that parses may be cut short ("0.5" written as far as "0.")
        try:
            row = [float(value) for value in line.split("\t")]
        except ValueError:
            row = []
        if len(row) != len(names):
            raise UserError(
                f"{path}: line {number} is not a row of {len(names)} numbers; the file is damaged (restore it from "
                "a snapshot such as results/logs, or move the run away)"
            )
        rows.append(row)
    if not rows:
        return {}
    values = np.array(rows)
    return {name: values[:, i] for i, name in enumerate(names)}


def read_config(directory: Path) -> dict:
    """A run's config.json; a UserError when it is not one (not JSON, or without a text env and exp_name and an
    integer seed)."""
    path = directory / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):  # unreadable, not UTF-8 or not JSON
        config = None
    if not (
        isinstance(config, dict)
        and isinstance(config.get("env"), str)
        and isinstance(config.get("exp_name"), str)
        and isinstance(config.get("seed"), int)
    ):
        raise UserError(
            f"{path} is not a run's config.json (damaged?); restore it from a snapshot such as results/logs, or move "
            "the run away"
        )
    return config


def read_run(directory: Path) -> RunLog | None:
    """The run in `directory`, or None if it has no finished epoch yet."""
    columns = read_progress(directory / "progress.txt")
    if not ((directory / "config.json").exists() and columns):
        return None
    config = read_config(directory)
    return RunLog(
        config["env"],
        run_method(config),
        int(config["seed"]),
        columns[STEP],
        columns,
        run_commits(directory),
        run_family(config),
    )


def run_method(config: dict) -> str:
    """The method of a run's config.json (see the module docstring). A preset matches when the config agrees with
    it on every parameter any preset sets: the preset's value where it sets one, the default elsewhere."""
    if "method" in config:
        return config["method"]
    parts = config["exp_name"].split("__")
    if len(parts) == 3:
        return parts[2]
    return _matching_preset(config) or config["exp_name"]


ENTROPY_KEYS = ("alpha", "autotune_alpha", "target_entropy")


def run_family(config: dict) -> str:
    """The method of a run up to its entropy weight: the preset it matches when alpha, autotune_alpha and
    target_entropy are ignored (sac, sac_auto and a variant of sac at another alpha are all `sac`), else its
    method."""
    if "method" in config:
        return config["method"]
    return _matching_preset(config, ignored=ENTROPY_KEYS) or run_method(config)


def _matching_preset(config: dict, ignored: tuple[str, ...] = ()) -> str | None:
    """The preset of sfp/rl/methods.py the config agrees with on every parameter any preset sets (the preset's
    value where it sets one, the default elsewhere), `ignored` aside; None when there is none."""
    defaults = {key: value for key, (value, _) in load_defaults(PARAMS_FILE, RLParams).items()}
    changed = {key: value for key, value in config.items() if key in defaults and value != defaults[key]}
    preset, rest = matching_preset(changed, ignored=ignored)
    return None if PRESET_KEYS & set(rest) else preset


def counted(count: int, noun: str) -> str:
    """'1 seed', '3 seeds'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def run_commits(directory: Path) -> tuple[str, ...]:
    """The commit of every start of the run in its provenance.json ("<sha>+dirty" for a modified checkout,
    "unknown" outside git); () without a readable file."""
    try:
        records = json.loads((directory / PROVENANCE_FILE).read_text())
    except (OSError, ValueError):
        return ()
    if not isinstance(records, list):
        return ()
    commits = []
    for record in records:
        state = record.get("git") if isinstance(record, dict) else None
        commits.append(f"{state['commit']}{'+dirty' if state.get('dirty') else ''}" if state else "unknown")
    return tuple(commits)


def _short_commit(commit: str) -> str:
    """A sha's first 12 digits, keeping "+dirty"; other labels as they are."""
    sha = commit.removesuffix("+dirty")
    return sha[:12] + commit[len(sha) :] if len(sha) == 40 else commit


def code_and_compute(runs: list[RunLog]) -> str:
    """One paragraph for a report: which code versions the runs were started and resumed with (a table's rows
    should share one), and their compute, the sum of the runs' Time column (one torch thread per grid run)."""
    versions: dict[str, int] = {}
    for run in runs:
        for commit in dict.fromkeys(run.commits or ("no provenance.json",)):
            versions[commit] = versions.get(commit, 0) + 1
    listed = ", ".join(
        f"`{_short_commit(commit)}` ({count} of {counted(len(runs), 'run')})"
        for commit, count in sorted(versions.items(), key=lambda item: -item[1])
    )
    seconds = sum(float(run.columns["Time"][-1]) for run in runs if "Time" in run.columns)
    one = "one code version" if len(versions) == 1 else f"{len(versions)} code versions (check before comparing)"
    whose = "the run's" if len(runs) == 1 else f"the sum of the {len(runs)} runs'"
    return f"Code: {one}: {listed}. Compute: {seconds / 3600:.1f} run-hours ({whose} Time column)."


def read_runs(directories: list[Path]) -> list[RunLog]:
    runs = [run for run in map(read_run, directories) if run is not None]
    if not runs:
        raise UserError(
            "no run with a finished epoch among the given directories (they need config.json and progress.txt)"
        )
    return runs


class SeededRun(Protocol):
    """What group() reads of a run (RunLog, exploration.RunVisits)."""

    @property
    def task(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def seed(self) -> int: ...


RunT = TypeVar("RunT", bound=SeededRun)


def group(runs: list[RunT]) -> dict[tuple[str, str], list[RunT]]:
    """{(task, method): runs in seed order}, sorted by task and method (so results do not depend on the order of
    the directories given)."""
    groups: dict[tuple[str, str], list[RunT]] = {}
    for run in runs:
        groups.setdefault((run.task, run.method), []).append(run)
    return {key: sorted(groups[key], key=lambda run: run.seed) for key in sorted(groups)}


def aligned(runs: list[RunLog], column: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps (E,), values (seeds, E)) over the epochs every run of the group has reached."""
    length = min(len(run.steps) for run in runs)
    return runs[0].steps[:length], np.stack([run.columns[column][:length] for run in runs])


def mixing_groups(groups: dict) -> dict:
    """The groups whose behaviour policy drew actions from a prior (a positive share of prior actions logged)."""
    return {
        key: runs
        for key, runs in groups.items()
        if all(PRIOR_USE in run.columns for run in runs) and np.any(aligned(runs, PRIOR_USE)[1] > 0)
    }


@contextmanager
def _seeded():
    """Fix numpy's global generator for one rliable call (its bootstrap draws from it), then restore it."""
    state = np.random.get_state()
    np.random.seed(SEED)
    try:
        yield
    finally:
        np.random.set_state(state)


def interval(scores, func) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rliable's point estimate func(scores) and its stratified-bootstrap interval: (point, low, high).
    `scores`: a matrix (runs, tasks, ...), or a list of such matrices that func takes as separate arguments."""
    with _seeded():
        points, intervals = library.get_interval_estimates(
            {"x": scores}, func, reps=REPS, confidence_interval_size=CONFIDENCE
        )
    point = np.asarray(points["x"])
    low, high = (bound.reshape(point.shape) for bound in intervals["x"])  # a scalar's bounds come as (1,)
    return point, low, high


def mean_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over rows (seeds) of values (seeds, E) and its bootstrap interval per column: (mean, low, high), (E,)."""
    return interval(values[:, None, :], lambda scores: scores[:, 0].mean(axis=0))


def seed_mean(values: np.ndarray) -> tuple[float, float, float]:
    """Mean of one task's scores over seeds (seeds,) with its bootstrap interval: (mean, low, high)."""
    point, low, high = interval(values[:, None], metrics.aggregate_mean)
    return float(point), float(low), float(high)


def aggregates(scores: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """{name: (point, low, high)} of every AGGREGATES metric of a score matrix (runs, tasks), one bootstrap."""
    point, low, high = interval(scores, lambda s: np.array([metric(s) for metric in AGGREGATES.values()]))
    return {name: (float(point[i]), float(low[i]), float(high[i])) for i, name in enumerate(AGGREGATES)}


def improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> tuple[float, float, float]:
    """P(X > Y) of score matrices (runs_x, tasks) and (runs_y, tasks) of the same tasks, with its interval."""
    point, low, high = interval([scores_x, scores_y], metrics.probability_of_improvement)
    return float(point), float(low), float(high)


def _runs_above(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of all runs' scores (runs, tasks) above each tau (T,): rliable's score distribution, vectorised."""
    return (scores[..., None] > taus).mean(axis=(0, 1))


def profiles(score_dict: dict[str, np.ndarray], taus: np.ndarray) -> tuple[dict, dict]:
    """rliable performance profiles: per method, the fraction of runs (all tasks) scoring above each tau (T,),
    and its interval (2, T)."""
    with _seeded():
        return library.create_performance_profile(
            score_dict, taus, custom_profile_func=_runs_above, reps=REPS, confidence_interval_size=CONFIDENCE
        )


def score_matrix(per_task: list[np.ndarray]) -> np.ndarray:
    """(runs, tasks) from one method's per-task scores (seeds,) in seed order; a task with more seeds than another
    keeps its first ones, so every task has as many runs as the one with fewest."""
    runs = min(len(scores) for scores in per_task)
    return np.stack([scores[:runs] for scores in per_task], axis=1)


def run_scores(run: RunLog, column: str, last: int) -> tuple[float, float]:
    """(final, auc) of one run: mean of the last `last` epochs, mean of all epochs."""
    values = run.columns[column]
    return float(values[-last:].mean()), float(values.mean())
