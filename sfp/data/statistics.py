"""How persistent a dataset's actions are: the numbers docs/data.md reports for every expert, for any dataset.

    python scripts/data_statistics.py <data name> [--max_trajs N]   e.g. pointmaze, fetch, maze, maze-fixed, sawyer

  steps_per_target        mean length of the runs of one goal (the target the expert headed for), each trajectory's
                          last (cut) run left out; about 1 when the goals change every row (the next observation
                          or achieved goal, as in imported data and the data of an expert without a target)
  targets_per_trajectory  mean number of goals per trajectory
  mean_cosine             mean cosine between consecutive actions a_t, a_{t+1} of a trajectory
  lag1_autocorr           sum x_t x_{t+1} / sum x_t^2 with x = a - mean(a), pooled over trajectories, mean over the
                          action axes (an axis that never varies is left out)
  max_abs_action          the largest |entry| of an action

Trajectories end where `terminals | timeouts` is set (sfp.data.dataset.episode_bounds), so they may differ in length;
`stacked_trajectories` gives the rows of R trajectories of one length (sfp.data.maze_statistics uses it).
"""

import numpy as np

from sfp.data import dataset


def _array(data, key: str) -> np.ndarray:
    return np.asarray(data[key] if isinstance(data, dict) else getattr(data, key))


def stacked_trajectories(actions: np.ndarray, goals: np.ndarray) -> dict[str, np.ndarray]:
    """The rows action_statistics reads, from R trajectories of T steps: actions (R, T, A) and goals (R, T, G) become
    (R·T, A) and (R·T, G), with a timeout on each trajectory's last row."""
    actions, goals = np.asarray(actions), np.asarray(goals)
    count, length = actions.shape[:2]
    timeouts = np.zeros((count, length), bool)
    timeouts[:, -1] = True
    return {
        "actions": actions.reshape(count * length, -1),
        "goals": goals.reshape(count * length, -1),
        "terminals": np.zeros(count * length, bool),
        "timeouts": timeouts.reshape(-1),
    }


def action_statistics(data, max_trajs: int | None = None) -> dict[str, float]:
    """The statistics of the module docstring of `data`: an ExpertData or a dict with actions, goals, terminals and
    timeouts (one row per step); max_trajs keeps the first ones."""
    bounds = dataset.episode_bounds(_array(data, "terminals"), _array(data, "timeouts"))
    if max_trajs is not None:
        bounds = bounds[: max_trajs + 1]
    rows = int(bounds[-1])
    actions = _array(data, "actions")[:rows].astype(np.float64)
    goals = _array(data, "goals")[:rows]
    pair = np.ones(max(rows - 1, 0), bool)  # rows i, i+1 of one trajectory
    pair[bounds[1:-1] - 1] = False

    changed = np.flatnonzero(pair & np.any(goals[1:] != goals[:-1], axis=1)) + 1
    starts = np.union1d(bounds[:-1], changed)
    lengths = np.diff(np.append(starts, rows))
    last_of_trajectory = np.isin(starts + lengths, bounds[1:])
    cut = lengths[~last_of_trajectory]
    steps_per_target = float(cut.mean()) if len(cut) else float(np.diff(bounds).mean())

    norms = np.linalg.norm(actions, axis=1)
    cosine = (actions[1:] * actions[:-1]).sum(1) / np.maximum(norms[1:] * norms[:-1], 1e-12)
    centred = actions - actions.mean(axis=0)
    variance = (centred**2).sum(axis=0)
    varying = variance > 1e-12 * max(len(actions), 1)
    lagged = (centred[1:] * centred[:-1])[pair].sum(axis=0)
    autocorr = lagged[varying] / variance[varying]
    return {
        "steps_per_target": steps_per_target,
        "targets_per_trajectory": len(starts) / (len(bounds) - 1),
        "mean_cosine": float(cosine[pair].mean()) if pair.any() else float("nan"),
        "lag1_autocorr": float(autocorr.mean()) if len(autocorr) else float("nan"),
        "max_abs_action": float(np.abs(actions).max()),
    }


def describe_statistics(statistics: dict[str, float]) -> str:
    """One line of the statistics."""
    return (
        f"steps per target {statistics['steps_per_target']:.1f} ({statistics['targets_per_trajectory']:.1f} targets "
        f"per trajectory), cosine of consecutive actions {statistics['mean_cosine']:.3f}, lag-1 autocorrelation "
        f"{statistics['lag1_autocorr']:.3f}, max |a| {statistics['max_abs_action']:.2f}"
    )
