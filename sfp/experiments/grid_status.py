"""Where a grid stands, read from its run directories without writing anything: `run_experiments.py --status`.

One row per run (finished, running, interrupted, broken or not started; steps done of its budget; the last test
success, the mean so far (AUC) and the entropy weight of its last epoch; its time) and a summary: how many runs are in
each state, the run-hours spent and, at the pace of the steps done so far, the run-hours left.
"""

import json
from pathlib import Path

import numpy as np

from sfp.errors import UserError
from sfp.experiments.analysis import read_progress
from sfp.experiments.grid import Run, grid, grid_epochs, grid_param, load_spec
from sfp.run_lock import LOCK_FILE, holder_of

STATES = ("finished", "running", "interrupted", "broken", "new")
STATE_WORDS = {"new": "not started"}


def run_row(run: Run, epochs: int, budget: int) -> dict:
    """State and progress of one run: {"state", "holder", "steps", "budget", "last", "auc", "alpha", "seconds"}.
    `budget` (environment steps) is the spec's, replaced by the run's own config.json once it has one."""
    directory = run.directory
    holder = holder_of(directory / LOCK_FILE)
    try:
        progress = read_progress(directory / "progress.txt")
        state = run.status(epochs)
    except (OSError, UserError):  # a damaged or unreadable progress.txt: a broken run, shown without progress
        progress, state = {}, "broken"
    row: dict = {
        "state": "running" if holder else state,
        "holder": holder,
        "steps": 0,
        "budget": budget,
        "last": None,
        "auc": None,
        "alpha": None,
        "seconds": 0.0,
    }
    try:
        config = json.loads((directory / "config.json").read_text())
        row["budget"] = int(config["epochs"]) * int(config["steps_per_epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if progress and len(progress.get("TotalEnvInteracts", [])):
        row["steps"] = int(progress["TotalEnvInteracts"][-1])
        success = progress.get("AverageTestSuccessRate")
        if success is not None and len(success):
            row["last"], row["auc"] = float(success[-1]), float(np.mean(success))
        if "Alpha" in progress:
            row["alpha"] = float(progress["Alpha"][-1])
        if "Time" in progress:
            row["seconds"] = float(progress["Time"][-1])
    return row


def _number(value, spec: str) -> str:
    return "" if value is None else format(value, spec)


def status_lines(spec_path: str | Path) -> list[str]:
    """The status table of one grid spec (markdown) and its summary line."""
    spec = load_spec(spec_path)
    runs = grid(spec)
    epochs = grid_epochs(spec)
    budget = epochs * int(grid_param(spec, "steps_per_epoch"))
    rows = [(run, run_row(run, epochs, budget)) for run in runs]
    lines = [
        f"{spec['name']} ({spec_path}): {len(runs)} runs",
        "",
        "| run | state | steps | last test success | AUC so far | alpha | hours |",
        "|---|---|---|---|---|---|---|",
    ]
    for run, row in rows:
        state = STATE_WORDS.get(row["state"], row["state"])
        if row["holder"]:
            state += f" ({row['holder']})"
        lines.append(
            f"| {run.directory.name} | {state} | {row['steps']:,} of {row['budget']:,} | "
            f"{_number(row['last'], '.2f')} | {_number(row['auc'], '.2f')} | {_number(row['alpha'], '.3g')} | "
            f"{row['seconds'] / 3600:.2f} |"
        )
    counts = {state: sum(row["state"] == state for _, row in rows) for state in STATES}
    spent = sum(row["seconds"] for _, row in rows) / 3600
    summary = ", ".join(f"{count} {STATE_WORDS.get(state, state)}" for state, count in counts.items() if count)
    lines += ["", f"{summary}; {spent:.1f} run-hours so far{_left(rows)}"]
    return lines


def _left(rows: list[tuple[Run, dict]]) -> str:
    """', about H run-hours left' at the pace of the steps done so far, or '' when no run has done a step."""
    steps = sum(row["steps"] for _, row in rows)
    seconds = sum(row["seconds"] for _, row in rows)
    if not steps or not seconds:
        return ""
    remaining = sum(max(row["budget"] - row["steps"], 0) for _, row in rows)
    return f", about {remaining * seconds / steps / 3600:.1f} run-hours left at the pace so far"
