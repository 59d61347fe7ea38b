"""Where the behaviour policy went in a point maze: visits per maze cell and epoch (the exploration maps).

After every training step the agent's cell (the integer cell centre nearest its world position, the cells of
sfp.envs.maze_geometry) is counted in epoch k = step // steps_per_epoch. <run>/visitation.npz is rewritten
atomically at each epoch end and holds
  counts     (E, H, W) int32   visits of the finished epochs; [k, i, j] is cell (origin_x + j, origin_y + i)
  cells      (H, W) bool       the maze's cells inside the bounding box (False: outside the maze)
  origin     (2,) int64        the lowest cell (x, y), i.e. the cell of index [0, 0]
  steps_per_epoch () int64     training steps per epoch
  env        () str            the maze's name
The counts of the epoch in progress travel in the run's checkpoint (state_dict), so a resumed run counts exactly as
an uninterrupted one. Gymnasium-Robotics' point mazes (`--env gymnasium_robotics:PointMaze_*`) are counted the same
way, by their maze cells: cell (row, column) of its maze_map is (x, y) = (column, rows - 1 - row), so that y grows
upwards as in the world. Other environments have no visitation (`for_env` returns None).
"""

from collections.abc import Callable

import numpy as np

from sfp.paths import atomic_output

VISITATION_FILE = "visitation.npz"


class Visitation:
    def __init__(
        self, cells, epochs: int, steps_per_epoch: int, env_name: str, locate: Callable[[], tuple[float, float]]
    ):
        xs, ys = zip(*cells)
        self.origin = np.array((min(xs), min(ys)), np.int64)
        self.shape = (max(ys) - min(ys) + 1, max(xs) - min(xs) + 1)
        self.cells = np.zeros(self.shape, bool)
        for x, y in cells:
            self.cells[y - self.origin[1], x - self.origin[0]] = True
        self.counts = np.zeros((epochs, *self.shape), np.int32)
        self.steps_per_epoch, self.env_name = steps_per_epoch, env_name
        self.locate = locate  # () -> the agent's (x, y) now, in cell units

    @classmethod
    def for_env(cls, env, epochs: int, steps_per_epoch: int) -> "Visitation | None":
        from sfp.envs.maze import MazeEnv

        base = env.unwrapped
        if isinstance(base, MazeEnv):
            return cls(base.layout.cells, epochs, steps_per_epoch, base.env_name, lambda: base.xy)
        maze, point = getattr(base, "maze", None), getattr(base, "point_env", None)  # a Gymnasium-Robotics point maze
        if maze is None or point is None:
            return None
        rows = len(maze.maze_map)
        cells = [(j, rows - 1 - i) for i, row in enumerate(maze.maze_map) for j, cell in enumerate(row) if cell != 1]

        def locate() -> tuple[float, float]:
            i, j = maze.cell_xy_to_rowcol(point.data.qpos[:2])
            return float(j), float(rows - 1 - i)

        return cls(cells, epochs, steps_per_epoch, env.spec.id if env.spec else "maze", locate)

    def index(self, x: float, y: float) -> tuple[int, int]:
        """(row, column) of the cell holding the world point (x, y), clamped to the bounding box."""
        row = min(max(round(y) - int(self.origin[1]), 0), self.shape[0] - 1)
        column = min(max(round(x) - int(self.origin[0]), 0), self.shape[1] - 1)
        return row, column

    def record(self, step: int) -> None:
        """Count the agent's position after training step `step` (0-based)."""
        row, column = self.index(*self.locate())
        self.counts[step // self.steps_per_epoch, row, column] += 1

    def write(self, path, epochs_done: int) -> None:
        """Write the counts of the first `epochs_done` epochs to `path` atomically (see the module docstring)."""
        with atomic_output(path) as tmp, open(tmp, "wb") as handle:
            np.savez(
                handle,
                counts=self.counts[:epochs_done],
                cells=self.cells,
                origin=self.origin,
                steps_per_epoch=np.int64(self.steps_per_epoch),
                env=np.array(self.env_name),
            )

    def state_dict(self) -> dict:
        return {"counts": self.counts.copy()}

    def load_state_dict(self, state: dict) -> None:
        """The saved counts; a run resumed with more --epochs keeps them in its first epochs."""
        saved = state["counts"]
        if saved.shape[1:] != self.shape:
            raise ValueError(f"visitation counts of shape {saved.shape[1:]} do not fit this maze {self.shape}")
        self.counts[:] = 0
        self.counts[: len(saved)] = saved[: len(self.counts)]
