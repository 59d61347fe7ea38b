"""The three point-maze layouts: which cells exist, where episodes start and where goals are.

The original's `sparsity` argument is ignored by every layout (as it was): each has a fixed size.
"""

from dataclasses import dataclass

from sfp.envs.maze_geometry import DIRECTIONS
from sfp.errors import UserError

LETTERS = {"l": "left", "r": "right", "u": "up", "d": "down"}


@dataclass(frozen=True)
class MazeLayout:
    """cells: integer cell centres; start_squares / goal_squares: the cells episodes start in / aim for."""

    name: str
    cells: frozenset
    start_squares: tuple
    goal_squares: tuple


def trace(moves: str, segment_length: int, origin=(0, 0)) -> list[tuple[int, int]]:
    """Cells visited walking from `origin`, each letter of `moves` (l/r/u/d) being `segment_length` cells."""
    x, y = origin
    cells = [(x, y)]
    for letter in moves:
        dx, dy = DIRECTIONS[LETTERS[letter]]
        for _ in range(segment_length):
            x, y = x + dx, y + dy
            cells.append((x, y))
    return cells


def corridor() -> MazeLayout:
    """A U of 123 cells: y=0 and y=2 for x=0..60, joined at x=60; start (0,0), goal (0,2) behind the thin wall."""
    cells = trace("r" * 60 + "uu" + "l" * 60, 1)
    return MazeLayout("corridor-v1", frozenset(cells), ((0, 0),), ((0, 2),))


def room() -> MazeLayout:
    """An open 27x27 grid, x, y in [-13, 13]; start at the origin, goal in one of the four corners."""
    cells = frozenset((x, y) for x in range(-13, 14) for y in range(-13, 14))
    corners = ((13, 13), (-13, 13), (13, -13), (-13, -13))
    return MazeLayout("room-v1", cells, ((0, 0),), corners)


def maze() -> MazeLayout:
    """91 cells on three paths from the origin (6 cells a letter); start (-6,-6), goal (-6,12), 66 cells apart."""
    cells = frozenset(trace("rruulll", 6) + trace("rrd", 6) + trace("rullddrr", 6))
    return MazeLayout("maze-v1", cells, ((-6, -6),), ((-6, 12),))


LAYOUTS = {"corridor-v1": corridor, "room-v1": room, "maze-v1": maze}


def maze_layout(name: str) -> MazeLayout:
    if name not in LAYOUTS:
        raise UserError(f"unknown maze {name!r}: use one of {', '.join(LAYOUTS)}")
    return LAYOUTS[name]()
