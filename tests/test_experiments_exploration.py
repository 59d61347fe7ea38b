"""Exploration maps: per-epoch visitation counts of maze runs (sfp/rl/visitation.py) and the figures made from them
(sfp/experiments/exploration.py, scripts/plot_exploration.py)."""

import json

import numpy as np
import pytest

from sfp import paths
from sfp.commands.plot_exploration import main as plot_exploration
from sfp.envs import make_env
from sfp.experiments.analysis import group
from sfp.experiments.exploration import RunVisits, coverage, coverage_curves, coverage_table, read_visits
from sfp.experiments.grid import snapshot_logs
from sfp.rl.params import load_rl_params
from sfp.rl.run import run
from sfp.rl.visitation import VISITATION_FILE, Visitation
from tests.tiny_runs import tiny_run

TINY = tiny_run(
    "maze-v1", epochs=2, steps_per_epoch=150, start_steps=60, update_after=50, update_every=25, max_ep_len=100
)


def _run(argv):
    params, notes = load_rl_params(argv)
    return run(params, notes)


def test_visits_of_a_hand_made_trajectory_land_in_their_cells_and_epochs():
    cells = [(0, 0), (1, 0), (2, 0), (2, 1)]  # an L; bounding box x 0..2, y 0..1
    path = iter([(0.2, 0.1), (0.6, -0.3), (1.4, 0.4), (2.1, 0.49), (2.0, 0.7), (1.9, 1.2)])
    visits = Visitation(cells, epochs=2, steps_per_epoch=3, env_name="L", locate=lambda: next(path))
    for step in range(6):
        visits.record(step)
    assert visits.cells.tolist() == [[True, True, True], [False, False, True]]
    assert visits.counts[0].tolist() == [[1, 2, 0], [0, 0, 0]]  # (0.6, -0.3) rounds to cell (1, 0)
    assert visits.counts[1].tolist() == [[0, 0, 1], [0, 0, 2]]
    assert coverage(visits.counts, visits.cells).tolist() == [0.5, 1.0]


def test_coverage_of_a_known_set_of_cells():
    cells = np.ones((3, 4), bool)
    cells[2, 3] = False  # 11 maze cells
    counts = np.zeros((3, 3, 4), np.int32)
    counts[0, 0, :2] = 5  # 2 cells in epoch 1
    counts[1, 0, 0] = counts[1, 1, 1] = 1  # one new cell in epoch 2
    counts[2, 2, 3] = 7  # outside the maze: not coverage
    assert np.allclose(coverage(counts, cells), [2 / 11, 3 / 11, 3 / 11])


def test_a_maze_run_writes_its_visits_every_epoch_and_resumes_them_exactly():
    _run(TINY + ["--exp_name", "whole"])
    _run([*TINY, "--exp_name", "split", "--epochs", "1"])
    with np.load(paths.run_dir("split", 0) / VISITATION_FILE) as one_epoch:
        assert one_epoch["counts"].shape[0] == 1
    _run([*TINY, "--exp_name", "split", "--resume", "True"])
    with (
        np.load(paths.run_dir("whole", 0) / VISITATION_FILE) as whole,
        np.load(paths.run_dir("split", 0) / VISITATION_FILE) as split,
    ):
        assert whole["counts"].shape == (2, 19, 19) and str(whole["env"]) == "maze-v1"
        assert np.array_equal(whole["counts"], split["counts"])
        assert whole["counts"].sum(axis=(1, 2)).tolist() == [150, 150]  # one count per training step
        assert not np.any(whole["counts"][:, ~whole["cells"]])  # only maze cells are ever visited
        start = (-6 - int(whole["origin"][1]), -6 - int(whole["origin"][0]))
        assert whole["counts"][0][start] > 0  # episodes start in cell (-6, -6)


def test_non_maze_runs_have_no_visitation():
    assert Visitation.for_env(make_env("hopper-sparse"), 2, 10) is None
    assert Visitation.for_env(make_env("corridor-v1"), 2, 10).cells.sum() == 123


def fake_run(root, name, task, seed, counts, cells):
    directory = root / f"{name}_s{seed}"
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({"exp_name": name, "env": task, "seed": seed}))
    (directory / "progress.txt").write_text("Epoch\tTotalEnvInteracts\n1\t10\n")
    np.savez(
        directory / VISITATION_FILE,
        counts=counts,
        cells=cells,
        origin=np.array([-6, -6]),
        steps_per_epoch=np.int64(10),
        env=np.array(task),
    )
    return directory


def test_figures_are_written_from_snapshots_of_runs(tmp_path, capsys):
    cells = Visitation.for_env(make_env("maze-v1"), 1, 10).cells
    rng = np.random.default_rng(0)
    runs = []
    for method, spread in (("sfp", 1.0), ("sac", 0.2)):
        for seed in range(3):
            counts = np.where(rng.random((4, *cells.shape)) < 0.1 * spread, 3, 0) * cells
            runs.append(fake_run(tmp_path / "logs", f"g__maze-v1__{method}", "maze-v1", seed, counts, cells))
    snapshots = snapshot_logs(runs, tmp_path / "snapshot")
    assert all((snapshot / VISITATION_FILE).exists() for snapshot in snapshots)
    steps, values = coverage_curves([read_visits(snapshot) for snapshot in snapshots[:3]])
    assert steps.tolist() == [10, 20, 30, 40] and np.all(np.diff(values, axis=1) >= 0)
    out = tmp_path / "figures" / "maze"
    plot_exploration([*map(str, snapshots), "--out", str(out), "--steps", "20", "10"])
    for name in ("maze_visits_maze-v1_sfp.png", "maze_visits_maze-v1_sac.png", "maze_coverage.png"):
        assert (out.parent / name).stat().st_size > 5000, name
    table = (out.parent / "maze_coverage.md").read_text()
    assert "| maze-v1 | sfp | 3 |" in table and "| coverage after 10 steps | coverage after 20 steps |" in table
    assert "wrote" in capsys.readouterr().out


def test_coverage_table_has_a_column_per_step_count_with_hand_worked_means():
    cells = np.ones((2, 2), bool)  # four cells a, b, c, d
    first = np.zeros((2, 2, 2), int)
    first[0, 0, 0], first[1, 0, 1] = 1, 4  # epoch 1: a; epoch 2: b  -> coverage 0.25, 0.50
    second = np.zeros((2, 2, 2), int)
    second[0, 0], second[0, 1, 0], second[1, 1, 1] = 2, 1, 1  # epoch 1: a, b, c; epoch 2: d  -> 0.75, 1.00
    runs = [
        RunVisits("L", "sfp", seed, counts, cells, np.zeros(2, int), 10) for seed, counts in enumerate((first, second))
    ]
    table = coverage_table(group(runs), [10, 20, 30]).splitlines()
    assert table[0] == (
        "| task | method | seeds | coverage after 10 steps | coverage after 20 steps | coverage after 30 steps |"
    )
    row = table[2].split(" | ")
    assert row[:3] == ["| L", "sfp", "2"] and row[3].startswith("0.50 [") and row[4].startswith("0.75 [")
    assert row[5] == "(runs reach 20 steps) |"


def test_no_maze_run_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        plot_exploration([str(tmp_path), "--out", str(tmp_path / "maze")])
    assert capsys.readouterr().err.startswith("error: no maze run with visitation.npz")


def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def _text(path):
    path.write_text("not an archive")


def _without_counts(path):
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files if key != "counts"}
    np.savez(path, **arrays)


def _cells_of_another_shape(path):
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    np.savez(path, **{**arrays, "cells": np.ones((3, 3), bool)})


@pytest.mark.parametrize("damage", [_truncate, _text, _without_counts, _cells_of_another_shape])
def test_a_damaged_visitation_file_is_one_line(damage, tmp_path, capsys):
    cells = Visitation.for_env(make_env("maze-v1"), 1, 10).cells
    run = fake_run(tmp_path / "logs", "g__maze-v1__sfp", "maze-v1", 0, np.ones((2, *cells.shape), int), cells)
    damage(run / VISITATION_FILE)
    with pytest.raises(SystemExit) as stop:
        plot_exploration([str(run), "--out", str(tmp_path / "maze")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.splitlines()) == 1 and f"{run / VISITATION_FILE} is damaged" in err
