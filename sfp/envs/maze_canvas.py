"""The 64x64 top-down picture of a point maze.

Cells are white on black, the agent a red 3x3 block, the goal a green 3x3 block drawn over it; the image is
flipped vertically so that +y points up. Cells are squares of 64 // (larger extent in cells) pixels, centred.
"""

import numpy as np

SIZE = 64
WHITE = 255
RED = (255, 0, 0)
GREEN = (0, 255, 0)


class MazeCanvas:
    def __init__(self, cells):
        xs = [x for x, _ in cells]
        ys = [y for _, y in cells]
        self.min_x, self.min_y = min(xs), min(ys)
        width, height = max(xs) - self.min_x + 1, max(ys) - self.min_y + 1
        self.cell_px = SIZE // max(width, height)
        self.pad_x = (SIZE - self.cell_px * width) // 2
        self.pad_y = (SIZE - self.cell_px * height) // 2
        self.background = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)  # (row, col, rgb), +y downwards (unflipped)
        for x, y in cells:
            row0, col0 = self.pixel(x - 0.5, y - 0.5)
            row1, col1 = self.pixel(x + 0.5, y + 0.5)
            self.background[row0:row1, col0:col1] = WHITE

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) of the world point (x, y) in the unflipped image (rounded half to even)."""
        row = round(self.pad_y + (y + 0.5 - self.min_y) * self.cell_px)
        col = round(self.pad_x + (x + 0.5 - self.min_x) * self.cell_px)
        return row, col

    def _mark(self, image: np.ndarray, point, colour) -> None:
        row, col = self.pixel(*point)
        image[max(row - 1, 0) : min(row + 1, SIZE - 1) + 1, max(col - 1, 0) : min(col + 1, SIZE - 1) + 1] = colour

    def draw(self, agent, goal) -> np.ndarray:
        """(64, 64, 3) uint8 image, row 0 at the top (largest y), of the agent and goal world positions."""
        image = self.background.copy()
        self._mark(image, agent, RED)
        self._mark(image, goal, GREEN)
        return np.ascontiguousarray(image[::-1])
