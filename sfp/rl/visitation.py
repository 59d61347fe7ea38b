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
an uninterrupted one. Non-maze environments have no visitation (`for_env` returns None).
"""

import numpy as np

from sfp.paths import atomic_output

VISITATION_FILE = "visitation.npz"


class Visitation:
    def __init__(self, cells, epochs: int, steps_per_epoch: int, env_name: str):
        xs, ys = zip(*cells)
        self.origin = np.array((min(xs), min(ys)), np.int64)
        self.shape = (max(ys) - min(ys) + 1, max(xs) - min(xs) + 1)
        self.cells = np.zeros(self.shape, bool)
        for x, y in cells:
            self.cells[y - self.origin[1], x - self.origin[0]] = True
        self.counts = np.zeros((epochs, *self.shape), np.int32)
        self.steps_per_epoch, self.env_name = steps_per_epoch, env_name

    @classmethod
    def for_env(cls, env, epochs: int, steps_per_epoch: int) -> "Visitation | None":
        from sfp.envs.maze import MazeEnv

        maze = env.unwrapped
        if not isinstance(maze, MazeEnv):
            return None
        return cls(maze.layout.cells, epochs, steps_per_epoch, maze.env_name)

    def index(self, x: float, y: float) -> tuple[int, int]:
        """(row, column) of the cell holding the world point (x, y), clamped to the bounding box."""
        row = min(max(round(y) - int(self.origin[1]), 0), self.shape[0] - 1)
        column = min(max(round(x) - int(self.origin[0]), 0), self.shape[1] - 1)
        return row, column

    def record(self, step: int, x: float, y: float) -> None:
        """Count the position (x, y) reached by training step `step` (0-based)."""
        row, column = self.index(x, y)
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
