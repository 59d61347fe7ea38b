"""Point mazes: layouts, dynamics worked out by hand, scaling, rewards, episode ends, spaces, frames, gymnasium."""

from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sfp.envs  # noqa: F401  (registers sfp/<name> with gymnasium)
from sfp.envs.maze import MazeEnv
from sfp.envs.maze_geometry import Maze
from sfp.envs.maze_layouts import maze_layout
from sfp.errors import UserError

MAZE_V1_MAP = """\
G##################
..................#
..................#
..................#
..................#
..................#
#############.....#
#...........#.....#
#...........#.....#
#...........#.....#
#...........#.....#
#...........#.....#
#.....#############
#.................#
#.................#
#.................#
#.................#
#.................#
S############.....#"""


class HalfRandom:
    """A stand-in for np_random whose random() is always 0.5, so every wall repulsion is exactly 0.005."""

    def random(self):
        return 0.5


def maze_of(name: str) -> Maze:
    return Maze(maze_layout(name).cells)


# --- layouts ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, n_cells, n_walls, starts, goals",
    [
        ("corridor-v1", 123, 248, {(0, 0)}, {(0, 2)}),
        ("room-v1", 729, 4 * 27, {(0, 0)}, {(13, 13), (-13, 13), (13, -13), (-13, -13)}),
        ("maze-v1", 91, 4 * 91 - 2 * 90, {(-6, -6)}, {(-6, 12)}),  # a tree of 91 cells has 90 open sides
    ],
)
def test_layout_sizes_and_squares(name, n_cells, n_walls, starts, goals):
    layout = maze_layout(name)
    assert len(layout.cells) == n_cells
    assert len(Maze(layout.cells).walls) == n_walls
    assert set(layout.start_squares) == starts and set(layout.goal_squares) == goals
    assert set(layout.start_squares) | set(layout.goal_squares) <= layout.cells


def test_corridor_shape():
    cells = maze_layout("corridor-v1").cells
    expected = {(x, 0) for x in range(61)} | {(x, 2) for x in range(61)} | {(60, 1)}
    assert cells == expected


def test_maze_v1_map():
    layout = maze_layout("maze-v1")
    rows = []
    for y in range(12, -7, -1):
        row = ""
        for x in range(-6, 13):
            cell = (x, y)
            row += (
                "S"
                if cell in layout.start_squares
                else "G"
                if cell in layout.goal_squares
                else "#"
                if cell in layout.cells
                else "."
            )
        rows.append(row)
    assert "\n".join(rows) == MAZE_V1_MAP


def test_the_environments_page_draws_maze_v1_as_it_is():
    """docs/environments.md draws cells as '.' and walls as '#' (the map above: the other way round)."""
    page = (Path(__file__).parents[1] / "docs" / "environments.md").read_text()
    drawing = page.split("- **maze-v1**", 1)[1].split("```\n")[1].strip()
    assert drawing == MAZE_V1_MAP.translate(str.maketrans("#.", ".#"))


def test_walls_only_between_cells_and_outside():
    maze = maze_of("corridor-v1")
    assert not maze.has_wall((0, 0), "right")  # (1, 0) is a cell
    assert maze.has_wall((0, 0), "up") and maze.has_wall((0, 0), "left") and maze.has_wall((0, 0), "down")
    assert maze.has_wall((0, 1), "down")  # the outside square above the origin sees the same wall
    assert not maze.has_wall((60, 0), "up") and maze.has_wall((60, 0), "right")
    assert ((-0.5, 0.5), (0.5, 0.5)) in maze.walls


def test_unknown_layout_is_a_user_error():
    with pytest.raises(UserError, match="corridor-v1"):
        MazeEnv("labyrinth-v1")


# --- dynamics -----------------------------------------------------------------------------------------------
def test_worked_example_from_the_reference():
    maze = maze_of("corridor-v1")
    x, y = maze.move(0.2, 0.1, 1.0, 1.0, np.random.default_rng(0))
    assert x == pytest.approx(1.2) and y == pytest.approx(0.4945, abs=0.01) and y <= 0.5
    assert maze.move(0.2, 0.1, 1.0, 1.0, HalfRandom()) == pytest.approx((1.2, 0.495))


def test_free_motion_crossing_open_boundaries():
    maze = maze_of("room-v1")
    assert maze.move(0.2, 0.3, 0.5, -0.9, HalfRandom()) == pytest.approx((0.7, -0.6))
    assert maze.move(12.0, -12.0, 1.0, -1.0, HalfRandom()) == pytest.approx((13.0, -13.0))  # into the last cell


def test_head_on_wall_stop():
    maze = maze_of("corridor-v1")
    # Up from the origin's centre: the wall at y=0.5 is met half-way; pushed back by 0.005, nothing left to slide.
    assert maze.move(0.0, 0.0, 0.0, 1.0, HalfRandom()) == pytest.approx((0.0, 0.495))
    # Left into the corridor's end wall at x=-0.5.
    assert maze.move(0.0, 0.0, -1.0, 0.0, HalfRandom()) == pytest.approx((-0.495, 0.0))


def test_slides_along_a_horizontal_wall():
    # From (5, 0.2) by (0.6, 0.8): the ceiling y=0.5 is hit at r=0.375 at x=5.225, then the remaining
    # 0.625 * 0.6 = 0.375 of x-motion carries on along it (crossing x=5.5 freely) to x=5.6.
    assert maze_of("corridor-v1").move(5.0, 0.2, 0.6, 0.8, HalfRandom()) == pytest.approx((5.6, 0.495))


def test_slides_along_a_vertical_wall_into_the_bend():
    # At the far end: the wall x=60.5 is hit at r=0.3 (y=0.24); the rest, 0.7 * 0.8 = 0.56 upwards, continues
    # into the cell (60, 1), which is open above (60, 0).
    assert maze_of("corridor-v1").move(60.2, 0.0, 1.0, 0.8, HalfRandom()) == pytest.approx((60.495, 0.8))


def test_corner_stops_on_both_axes():
    # Diagonally into the origin cell's bottom-left corner: both walls are met at r=0.7 ('down' sorts first);
    # after stopping on one axis the remaining motion meets the other wall at once (r=0).
    x, y = maze_of("corridor-v1").move(0.2, 0.2, -1.0, -1.0, HalfRandom())
    assert (x, y) == pytest.approx((-0.495, -0.495))


def test_depth_limit_stops_exactly_at_the_wall():
    assert maze_of("corridor-v1").move(0.0, 0.0, 0.0, 1.0, HalfRandom(), depth=3) == pytest.approx((0.0, 0.5))


def test_random_walks_stay_inside_the_maze():
    for name in ("corridor-v1", "maze-v1"):
        env = MazeEnv(name, goal_cond=False)
        env.reset(seed=3)
        rng = np.random.default_rng(4)
        for _ in range(2000):
            env.step(rng.uniform(-1, 1, 2))
            assert tuple(np.round(env.position).astype(int)) in env.layout.cells


def test_actions_are_clipped():
    env = MazeEnv("room-v1", goal_cond=False)
    env.reset(seed=0)
    start = env.position
    env.step(np.array([5.0, -3.0]))
    assert env.position == pytest.approx(start + [1.0, -1.0])


# --- start and goal sampling --------------------------------------------------------------------------------
def test_corridor_starts_keep_clear_of_walls_and_goals_are_cell_centres():
    env = MazeEnv("corridor-v1", goal_cond=False)
    for seed in range(200):
        env.reset(seed=seed)
        x, y = env.position
        assert -0.45 < x < 0.5 and -0.45 < y < 0.45  # open to the right only
        assert tuple(env.goal) == (0.0, 2.0)


def test_room_goals_visit_all_corners():
    env = MazeEnv("room-v1")
    goals = set()
    for seed in range(40):
        env.reset(seed=seed)
        goals.add(tuple(env.goal))
    assert goals == {(13.0, 13.0), (-13.0, 13.0), (13.0, -13.0), (-13.0, -13.0)}


# --- scaling ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, low, high",
    [
        ("corridor-v1", (-0.5, -0.5), (60.5, 2.5)),
        ("room-v1", (-13.5, -13.5), (13.5, 13.5)),
        ("maze-v1", (-6.5, -6.5), (12.5, 12.5)),
    ],
)
def test_scaling(name, low, high):
    env = MazeEnv(name)
    assert env.low.tolist() == list(low) and env.high.tolist() == list(high)
    assert env.scale(low).tolist() == [0.0, 0.0] and env.scale(high).tolist() == [1.0, 1.0]
    points = np.random.default_rng(0).uniform(low, high, (5, 3, 2))
    assert np.allclose(env.unscale(env.scale(points)), points)
    obs, _ = env.reset(seed=1)
    assert np.allclose(env.unscale(obs["achieved_goal"]), env.position, atol=1e-4)
    assert np.allclose(env.unscale(obs["desired_goal"]), env.goal, atol=1e-4)


# --- rewards ------------------------------------------------------------------------------------------------
def test_compute_reward_single_and_batched():
    env = MazeEnv("room-v1")
    goal = env.scale([13.0, 13.0])
    near, edge, far = env.scale([[12.0, 13.5], [13.0, 11.8], [11.0, 13.0]])  # 1.118, 1.2, 2.0 away
    assert env.compute_reward(near, goal) == 1.0 and env.compute_reward(far, goal) == 0.0
    assert env.compute_reward(near, goal).dtype == np.float32
    batch = env.compute_reward(np.stack([near, edge, far]), np.stack([goal] * 3), None)
    assert batch.dtype == np.float32 and batch.tolist() == [1.0, 1.0, 0.0]
    assert env.is_success(near, goal) is True
    assert env.is_success(np.stack([near, far]), np.stack([goal, goal])).tolist() == [True, False]
    negative = MazeEnv("room-v1", neg_rew=True)
    assert negative.compute_reward(np.stack([near, far]), np.stack([goal, goal])).tolist() == [0.0, -1.0]


@pytest.mark.parametrize("neg_rew", [False, True])
def test_step_reward_equals_compute_reward_and_reaches_the_goal(neg_rew):
    env = MazeEnv("room-v1", neg_rew=neg_rew)
    obs, info = env.reset(seed=2)
    assert not info["success"]
    successes = []
    for _ in range(30):  # straight for the corner goal: at most 13 cells per axis
        obs, reward, terminated, truncated, info = env.step(np.clip(env.goal - env.position, -1, 1))
        assert reward == env.compute_reward(obs["achieved_goal"], obs["desired_goal"], info)
        assert reward == float(info["success"]) - (1.0 if neg_rew else 0.0)
        assert not terminated and not truncated
        successes.append(info["success"])
    assert not successes[0] and successes[-1]


def test_terminate_on_success():
    env = MazeEnv("room-v1", terminate_on_success=True)
    env.reset(seed=5)
    for step in range(30):  # noqa: B007  (read after the loop)
        _, reward, terminated, truncated, info = env.step(np.clip(env.goal - env.position, -1, 1))
        assert terminated == info["success"] and not truncated
        if terminated:
            break
    assert terminated and reward == 1.0 and step >= 10


def test_truncation_at_500_steps_is_not_termination():
    env = MazeEnv("corridor-v1", terminate_on_success=True)
    env.reset(seed=0)
    for step in range(1, 501):
        _, reward, terminated, truncated, _ = env.step(np.array([-1.0, 1.0]))  # pressed into the corner
        assert not terminated and reward == 0.0
        assert truncated == (step == 500)
    env.reset()
    assert not env.step(np.zeros(2))[3]


# --- observations -------------------------------------------------------------------------------------------
def test_dict_and_flat_observations_lie_in_their_spaces():
    env = MazeEnv("maze-v1")
    assert isinstance(env.observation_space, gymnasium.spaces.Dict)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"observation", "achieved_goal", "desired_goal"} and obs in env.observation_space
    assert np.array_equal(obs["observation"], obs["achieved_goal"])
    flat = MazeEnv("maze-v1", goal_cond=False)
    obs, _ = flat.reset(seed=0)
    assert obs.shape == (2,) and obs.dtype == np.float32 and obs in flat.observation_space
    rng = np.random.default_rng(0)
    for _ in range(300):
        obs = flat.step(rng.uniform(-1, 1, 2))[0]
        assert obs in flat.observation_space


def test_visual_observation_is_the_frame():
    env = MazeEnv("room-v1", goal_cond=True, visual=True)
    assert not env.goal_cond and env.observation_space.shape == (3, 64, 64)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs in env.observation_space
    assert np.array_equal(obs, env.frame() / 255.0)
    assert set(np.unique(obs)) <= {0.0, 1.0}


def test_maze_v1_frame_colours_and_orientation():
    env = MazeEnv("maze-v1", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.frame()
    assert frame.shape == (3, 64, 64) and frame.dtype == np.uint8
    assert np.array_equal(env.render(), frame.transpose(1, 2, 0))
    pixel = lambda row, col: tuple(frame[:, row, col])  # noqa: E731
    # 3 px cells, 3 px padding. The goal (-6, 12) is top-left after the vertical flip: rows 4-6, cols 3-5.
    assert all(pixel(r, c) == (0, 255, 0) for r in (4, 5, 6) for c in (3, 4, 5))
    # Image row 8 is y=11, where only the cell x=12 (cols 57-59) exists; unflipped it would be y=-5 (x=-6 only).
    assert [c for c in range(64) if pixel(8, c) == (255, 255, 255)] == [57, 58, 59]
    assert pixel(0, 0) == (0, 0, 0) and pixel(20, 20) == (0, 0, 0)  # padding and a gap between paths
    # The agent starts in the bottom-left cell (-6, -6): red pixels in rows 54-60, cols 2-7.
    rows, cols = np.nonzero((frame[0] == 255) & (frame[1] == 0))
    assert len(rows) == 9 and rows.min() >= 54 and rows.max() <= 60 and cols.min() >= 2 and cols.max() <= 7


def test_corridor_frame_layout():
    env = MazeEnv("corridor-v1")
    env.reset(seed=0)
    white = np.all(env.frame() == 255, axis=0)
    # 1 px cells, 1 px left padding, 30 px top padding: y=2 is row 31, y=1 row 32, y=0 row 33 (flipped).
    assert white[31, 10:62].all() and white[33, 10:62].all()
    assert np.nonzero(white[32])[0].tolist() == [61]
    assert not white[:31].any() and not white[34:].any()


# --- reproducibility and gymnasium --------------------------------------------------------------------------
def test_same_seed_same_run():
    def run(seed):
        env = MazeEnv("corridor-v1")
        env.reset(seed=seed)
        actions = np.random.default_rng(7).uniform(-1, 1, (300, 2))
        return np.array([env.step(a)[0]["observation"] for a in actions])

    assert np.array_equal(run(11), run(11))
    assert not np.array_equal(run(11), run(12))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"goal_cond": False},
        {"visual": True, "render_mode": "rgb_array"},
        {"neg_rew": True},
    ],
)
def test_gymnasium_env_checker(kwargs):
    check_env(MazeEnv("maze-v1", **kwargs), skip_render_check=False)


def test_gymnasium_make():
    env = gymnasium.make("sfp/room-v1")
    obs, info = env.reset(seed=0)
    assert obs in env.observation_space and "success" in info
    assert env.unwrapped.short_name == "maze" and env.unwrapped.max_steps == 500
    assert env.unwrapped.dist_threshold == 1.2 and env.unwrapped.env_name == "room-v1"
    env.step(env.action_space.sample())
