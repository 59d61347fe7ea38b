"""How persistent a maze expert's data is: the four numbers README's data section reports for each expert.

Input: R trajectories of T steps from room-v1, observations (R, T, 2) scaled to [0, 1]^2, actions (R, T, 2), goals
(R, T, 2) (the target of each row, as sfp.data.experts stores them).

  steps_per_target  mean length of the runs of one target, the last (cut) run of each trajectory left out
  near_wall         share of rows whose position is within 0.5 (world units) of the room's outer wall
  mean_cosine       mean cosine between consecutive actions a_t, a_{t+1}
  lag1_autocorr     Σ x_t x_{t+1} / Σ x_t² with x = a - mean(a), pooled over trajectories, mean over the two axes
"""

import numpy as np

ROOM_HALF_WIDTH = 13.5  # room-v1's cells span [-13.5, 13.5]^2 (sfp.envs.maze_layouts.room)
WALL_DISTANCE = 0.5


def steps_per_target(goals: np.ndarray) -> float:
    """Mean run length of equal consecutive goals (R, T, G), without each trajectory's last run."""
    lengths = []
    for trajectory in goals:
        switches = np.flatnonzero(np.any(trajectory[1:] != trajectory[:-1], axis=1)) + 1
        lengths.extend(np.diff(np.concatenate([[0], switches])).tolist())
    return float(np.mean(lengths)) if lengths else float(goals.shape[1])


def maze_statistics(observations: np.ndarray, actions: np.ndarray, goals: np.ndarray) -> dict[str, float]:
    """The statistics of the module docstring, as floats."""
    world = (np.asarray(observations, np.float64) - 0.5) * 2 * ROOM_HALF_WIDTH
    near_wall = np.abs(world).max(axis=-1) >= ROOM_HALF_WIDTH - WALL_DISTANCE
    actions = np.asarray(actions, np.float64)
    norms = np.linalg.norm(actions, axis=-1)
    cosine = (actions[:, 1:] * actions[:, :-1]).sum(-1) / np.maximum(norms[:, 1:] * norms[:, :-1], 1e-12)
    centred = actions - actions.mean(axis=(0, 1))
    autocorr = (centred[:, 1:] * centred[:, :-1]).sum(axis=(0, 1)) / (centred**2).sum(axis=(0, 1))
    return {
        "steps_per_target": steps_per_target(goals),
        "near_wall": float(near_wall.mean()),
        "mean_cosine": float(cosine.mean()),
        "lag1_autocorr": float(autocorr.mean()),
        "max_abs_action": float(np.abs(actions).max()),
    }
