"""Geometry and dynamics of the point mazes: unit cells, walls, motion with wall sliding, start/goal sampling.

Cell (x, y) has integer centre (x, y) and covers [x-0.5, x+0.5] x [y-0.5, y+0.5]. Any two 4-adjacent cells are
connected, so the walls are exactly the unit segments between a cell and a non-cell. A wall is stored canonically
as ((x0, x1), (y0, y1)) with x0 <= x1 and y0 <= y1.

The hot path (`Maze.move`) is plain Python on floats: walls are looked up in per-direction sets of integer cells.
Rounding to cells is Python's `round`, which like numpy's rounds half to even.
"""

import math

DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, 1), "down": (0, -1)}
MAX_SLIDE_DEPTH = 3  # from this recursion depth on, a blocked move stops at the wall (no sliding, no repulsion)
REPULSION = 0.01  # a blocked move is pushed back from the wall by U[0, REPULSION)
BEFORE_CROSSING = 0.999  # fraction of the way to a crossing at which the "cell before the crossing" is read
START_PROBE = 0.05  # a sampled start must be able to move this far towards its offset from the cell centre


def wall_segment(cell: tuple[int, int], direction: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """The side `direction` of `cell` as a canonical segment ((x0, x1), (y0, y1))."""
    x, y = cell
    dx, dy = DIRECTIONS[direction]
    if dx:
        return (x + 0.5 * dx,) * 2, (y - 0.5, y + 0.5)
    return (x - 0.5, x + 0.5), (y + 0.5 * dy,) * 2


def neighbour(cell: tuple[int, int], direction: str) -> tuple[int, int]:
    dx, dy = DIRECTIONS[direction]
    return cell[0] + dx, cell[1] + dy


class Maze:
    """A set of unit cells with the walls that separate them from the outside.

    `rng` arguments are numpy Generators (`env.np_random`); they are only drawn from when a move hits a wall.
    """

    def __init__(self, cells):
        self.cells = frozenset((int(x), int(y)) for x, y in cells)
        self.walls = frozenset(
            wall_segment(cell, direction)
            for cell in self.cells
            for direction in DIRECTIONS
            if neighbour(cell, direction) not in self.cells
        )
        # Both sides of every wall, per direction: a cell (or an outside square) whose `direction` side is a wall.
        candidates = self.cells | {neighbour(cell, d) for cell in self.cells for d in DIRECTIONS}
        self._walled = {
            direction: frozenset(c for c in candidates if wall_segment(c, direction) in self.walls)
            for direction in DIRECTIONS
        }

    def has_wall(self, cell: tuple[int, int], direction: str) -> bool:
        return (cell[0], cell[1]) in self._walled[direction]

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(low, high): the outer edges of the cells, ((min x, min y) - 0.5, (max x, max y) + 0.5)."""
        xs = [x for x, _ in self.cells]
        ys = [y for _, y in self.cells]
        return (min(xs) - 0.5, min(ys) - 0.5), (max(xs) + 0.5, max(ys) + 0.5)

    def first_hit(self, x: float, y: float, dx: float, dy: float) -> tuple[float, str] | None:
        """The first wall met on the straight move (x, y) -> (x+dx, y+dy): (fraction r of the move, direction).

        Ties in r are broken by the direction's name, as the original sorted (r, direction) pairs.
        """
        hits = [
            hit
            for hit in (
                self._axis_hit(x, dx, y, dy, ("left", "right"), x_first=True),
                self._axis_hit(y, dy, x, dx, ("down", "up"), x_first=False),
            )
            if hit
        ]
        return min(hits, default=None)

    def _axis_hit(self, start, delta, side_start, side_delta, names, x_first) -> tuple[float, str] | None:
        """The first walled cell boundary crossed along one axis (`start`, `delta`); the other axis is `side_*`.

        Boundaries lie half-way between the rounded cells; the cell checked is the one the point is in just
        before the crossing (read at 0.999 of the way there).
        """
        first_cell, last_cell = round(start), round(start + delta)
        if first_cell == last_cell:
            return None
        step = 1 if last_cell > first_cell else -1
        direction = names[step > 0]
        walled = self._walled[direction]
        for i in range(abs(last_cell - first_cell)):
            r = (first_cell + step * (i + 0.5) - start) / delta
            along = round(start + BEFORE_CROSSING * r * delta)
            across = round(side_start + BEFORE_CROSSING * r * side_delta)
            if ((along, across) if x_first else (across, along)) in walled:
                return r, direction
        return None

    def move(self, x: float, y: float, dx: float, dy: float, rng, depth: int = 0) -> tuple[float, float]:
        """End point of the displacement (dx, dy) from (x, y), sliding along walls.

        On a hit the point stops at the wall, is pushed back from it by U[0, 0.01) and continues with the
        remaining motion along the wall only. Each slide zeroes one axis of the motion, so in practice at most two
        slides happen; the depth limit of the original is kept all the same.
        """
        hit = self.first_hit(x, y, dx, dy)
        if hit is None:
            return x + dx, y + dy
        r, direction = hit
        x, y = x + r * dx, y + r * dy
        if depth >= MAX_SLIDE_DEPTH:
            return x, y
        push = rng.random() * REPULSION
        if direction in ("left", "right"):
            return self.move(x - math.copysign(push, dx), y, 0.0, (1 - r) * dy, rng, depth + 1)
        return self.move(x, y - math.copysign(push, dy), (1 - r) * dx, 0.0, rng, depth + 1)

    def sample_start(self, squares, rng) -> tuple[float, float]:
        """A point uniform in a uniformly chosen square, able to move 0.05 per axis towards its offset unblocked."""
        cx, cy = squares[rng.integers(len(squares))]
        while True:
            sx, sy = (float(s) for s in rng.uniform(-0.5, 0.5, size=2))
            x, y = cx + sx, cy + sy
            px, py = START_PROBE * _sign(sx), START_PROBE * _sign(sy)
            if self.move(x, y, px, py, rng) == (x + px, y + py):
                return x, y

    @staticmethod
    def sample_goal(squares, rng) -> tuple[float, float]:
        """The exact centre of a uniformly chosen square."""
        gx, gy = squares[rng.integers(len(squares))]
        return float(gx), float(gy)


def _sign(value: float) -> float:
    return float((value > 0) - (value < 0))
