"""How persistent a maze expert's data is: the numbers docs/data.md reports for each maze expert.

Input: R trajectories of T steps from room-v1, observations (R, T, 2) scaled to [0, 1]^2, actions (R, T, 2), goals
(R, T, 2) (the target of each row, as sfp.data.experts stores them). The statistics are those of
sfp.data.statistics (steps per target, cosine of consecutive actions, lag-1 autocorrelation, max |a|) plus one of the
room's own:

  near_wall         share of rows whose position is within 0.5 (world units) of the room's outer wall
"""

import numpy as np

from sfp.data.statistics import action_statistics, stacked_trajectories

ROOM_HALF_WIDTH = 13.5  # room-v1's cells span [-13.5, 13.5]^2 (sfp.envs.maze_layouts.room)
WALL_DISTANCE = 0.5


def maze_statistics(observations: np.ndarray, actions: np.ndarray, goals: np.ndarray) -> dict[str, float]:
    """The statistics of the module docstring, as floats."""
    world = (np.asarray(observations, np.float64) - 0.5) * 2 * ROOM_HALF_WIDTH
    near_wall = np.abs(world).max(axis=-1) >= ROOM_HALF_WIDTH - WALL_DISTANCE
    return {**action_statistics(stacked_trajectories(actions, goals)), "near_wall": float(near_wall.mean())}
