"""Exploration maps of point-maze runs, from the visitation.npz each run writes (sfp/rl/visitation.py).

  <out>_visits_<task>_<method>.png  where the behaviour policy went during the first N training steps: visits per
                                    maze cell summed over seeds (log colour scale; white: never visited, grey:
                                    outside the maze), walls drawn in black
  <out>_coverage.png                coverage (share of the maze's cells visited at least once) against training
                                    steps, one panel per maze and a curve per method: mean over seeds with a 95 %
                                    bootstrap band (sfp.experiments.analysis.mean_band)
  <out>_coverage.md                 per maze and method: seeds and coverage after each of the given step counts N,
                                    with its interval (the heat maps show the largest N)
A run is a directory with config.json and visitation.npz (a run directory or a snapshot made by plot.py
--snapshot); its task and method are read as in sfp.experiments.analysis (in file names the task is
sfp.envs.gym_task.task_label of it: no module, '_' for '/'). Coverage is known at epoch ends, so each
N is rounded up to a whole number of epochs.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap, LogNorm  # noqa: E402

from sfp.envs.gym_task import task_label  # noqa: E402
from sfp.envs.maze_geometry import Maze  # noqa: E402
from sfp.errors import UserError  # noqa: E402
from sfp.experiments.analysis import counted, group, mean_band, read_config, run_family, run_method  # noqa: E402
from sfp.experiments.plots import Style, line_styles, plot_bands  # noqa: E402
from sfp.rl.visitation import VISITATION_FILE  # noqa: E402

BACKGROUND = ListedColormap(["0.75", "white"])  # outside the maze, inside


@dataclass
class RunVisits:
    task: str
    method: str
    seed: int
    counts: np.ndarray  # (E, H, W) visits per epoch and cell
    cells: np.ndarray  # (H, W) bool
    origin: np.ndarray  # (2,) the cell (x, y) of index [0, 0]
    steps_per_epoch: int
    family: str = ""  # the method up to its entropy weight (analysis.run_family), for the line styles


def read_visits(directory: Path) -> RunVisits | None:
    """The visits of the run in `directory`, or None without config.json, visitation.npz or a finished epoch."""
    config_path, path = directory / "config.json", directory / VISITATION_FILE
    if not (config_path.exists() and path.exists()):
        return None
    config = read_config(directory)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("counts", "cells", "origin", "steps_per_epoch")}
        counts, cells = arrays["counts"], arrays["cells"]
        if counts.ndim != 3 or cells.shape != counts.shape[1:] or arrays["origin"].shape != (2,):
            raise ValueError(f"counts {counts.shape}, cells {cells.shape}, origin {arrays['origin'].shape}")
    except Exception as err:  # torn, not an archive, missing arrays or inconsistent shapes
        raise UserError(
            f"{path} is damaged ({type(err).__name__}: {err}); restore it from a snapshot such as results/logs, or "
            "move the run away"
        ) from None
    if len(counts) == 0:
        return None
    return RunVisits(
        config["env"],
        run_method(config),
        int(config["seed"]),
        counts,
        cells,
        arrays["origin"],
        int(arrays["steps_per_epoch"]),
        run_family(config),
    )


def coverage(counts: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """(E,) share of the maze's cells visited at least once by the end of each epoch; counts (E, H, W)."""
    seen = np.cumsum(counts, axis=0) > 0
    return (seen & cells).sum(axis=(1, 2)) / cells.sum()


def coverage_curves(runs: list[RunVisits]) -> tuple[np.ndarray, np.ndarray]:
    """(steps (E,), coverage (seeds, E)) over the epochs every run has finished."""
    length = min(len(run.counts) for run in runs)
    steps = (np.arange(length) + 1) * runs[0].steps_per_epoch
    return steps, np.stack([coverage(run.counts[:length], run.cells) for run in runs])


def epochs_for(steps: int, steps_per_epoch: int) -> int:
    return max(1, math.ceil(steps / steps_per_epoch))


def plot_visits(runs: list[RunVisits], steps: int, path: Path) -> None:
    """The heat map of one (task, method) group: visits of the first `steps` steps, summed over its seeds."""
    first = runs[0]
    epochs = epochs_for(steps, first.steps_per_epoch)
    visits = sum(run.counts[:epochs].sum(axis=0) for run in runs)
    height, width = first.cells.shape
    x0, y0 = first.origin
    extent = (x0 - 0.5, x0 + width - 0.5, y0 - 0.5, y0 + height - 0.5)
    scale = 8.0 / max(width, height)
    figure, axis = plt.subplots(figsize=(max(width * scale, 4.0) + 1.2, max(height * scale, 1.0) + 1.6))
    axis.imshow(first.cells, cmap=BACKGROUND, origin="lower", extent=extent, vmin=0, vmax=1)
    shown = np.ma.masked_where((visits == 0) | ~first.cells, visits)
    if shown.count():
        image = axis.imshow(
            shown, cmap="viridis", origin="lower", extent=extent, norm=LogNorm(vmin=1, vmax=max(int(visits.max()), 2))
        )
        wide = width > 3 * height
        figure.colorbar(image, ax=axis, shrink=0.8, label="visits", orientation="horizontal" if wide else "vertical")
    cells = [(int(x0 + j), int(y0 + i)) for i, j in zip(*np.nonzero(first.cells))]
    for (wx0, wx1), (wy0, wy1) in Maze(cells).walls:
        axis.plot((wx0, wx1), (wy0, wy1), color="black", linewidth=1.2)
    axis.set_title(
        f"{first.task}, {first.method}: first {epochs * first.steps_per_epoch:,} steps, {counted(len(runs), 'seed')}",
        fontsize=9,
    )
    axis.set_xticks([])
    axis.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_coverage(groups: dict, path: Path, styles: dict[str, Style]) -> None:
    """Coverage against training steps, one panel per task, mean and bootstrap band over seeds."""
    plot_bands(
        groups, coverage_curves, "share of the maze's cells visited", "training steps", path, styles, ylim=(0, 1.02)
    )


def coverage_table(groups: dict, steps: list[int]) -> str:
    """Markdown: a row per (task, method), a column of coverage [95 % interval over seeds] per step count."""
    lines = [
        "| task | method | seeds | " + " | ".join(f"coverage after {n:,} steps" for n in steps) + " |",
        "|---|---|---|" + "---|" * len(steps),
    ]
    for (task, method), runs in groups.items():
        _, values = coverage_curves(runs)
        mean, low, high = mean_band(values)  # (E,) each: one bootstrap serves every column
        cells = []
        for n in steps:
            epoch = epochs_for(n, runs[0].steps_per_epoch) - 1
            if values.shape[1] <= epoch:
                cells.append(f"(runs reach {values.shape[1] * runs[0].steps_per_epoch:,} steps)")
            else:
                cells.append(f"{mean[epoch]:.2f} [{low[epoch]:.2f}, {high[epoch]:.2f}]")
        lines.append(f"| {task} | {method} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def map_suffix(task: str, method: str) -> str:
    """The end of a heat map's file name, <out>_visits_<task>_<method>.png, with the task as a file name."""
    return f"_visits_{task_label(task)}_{method}.png"


def maze_runs(directories: list[Path]) -> list[RunVisits]:
    """The maze runs among `directories` (those with visits), read once; a UserError when there is none, or when two
    tasks' heat maps would share a file name."""
    runs = [run for run in map(read_visits, directories) if run is not None]
    if not runs:
        raise UserError(
            f"no maze run with {VISITATION_FILE} among the given directories (point-maze runs write it "
            f"at each epoch end; snapshots made by plot.py --snapshot keep it)"
        )
    named: dict[str, str] = {}
    for run in runs:
        if (other := named.setdefault(map_suffix(run.task, run.method), run.task)) != run.task:
            raise UserError(f"runs of {other} and {run.task} would share a map's file name; plot them separately")
    return runs


def write_exploration(runs: list[RunVisits], out: Path, steps: list[int]) -> list[Path]:
    """The figures and table of the module docstring for `runs` (maze_runs), the table at each of `steps` and the
    heat maps at the largest; returns the files."""
    steps = sorted(set(steps))
    groups = group(runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for (task, method), members in groups.items():
        path = out.with_name(out.name + map_suffix(task, method))
        plot_visits(members, steps[-1], path)
        written.append(path)
    written.append(out.with_name(f"{out.name}_coverage.png"))
    plot_coverage(groups, written[-1], line_styles(groups))
    written.append(out.with_name(f"{out.name}_coverage.md"))
    written[-1].write_text(coverage_table(groups, steps))
    return written
