"""MazeEnv: the pure-numpy point mazes corridor-v1, room-v1 and maze-v1 as a gymnasium environment.

A point moves in a maze of unit cells; the (clipped) action in [-1, 1]^2 is its displacement, with wall sliding.
The goal is a cell centre; success is being within `dist_threshold` (1.2, world units) of it. Observations are in
[0, 1]^2, scaled by the maze's outer edges (`scale` / `unscale`); `position` and `goal` stay in world units.
"""

import math

import gymnasium
import numpy as np
from gymnasium import spaces

from sfp.envs.maze_canvas import SIZE, MazeCanvas
from sfp.envs.maze_geometry import Maze
from sfp.envs.maze_layouts import maze_layout
from sfp.errors import UserError


class MazeEnv(gymnasium.Env):
    """Point-maze task `name` (corridor-v1, room-v1, maze-v1).

    goal_cond: observations are dicts {observation, achieved_goal, desired_goal}, each (2,) float32 scaled.
    visual: observations are (3, 64, 64) float32 images in [0, 1] (goal_cond is then forced off).
    neg_rew: rewards are 0 on success, -1 otherwise, instead of 1 / 0 (in step() and compute_reward alike).
    terminate_on_success: terminated=True on success. The 500-step limit only ever sets truncated=True.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    short_name = "maze"
    max_steps = 500
    dist_threshold = 1.2

    def __init__(
        self,
        name: str,
        goal_cond: bool = True,
        visual: bool = False,
        neg_rew: bool = False,
        terminate_on_success: bool = False,
        render_mode: str | None = None,
    ):
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise UserError(f"render_mode {render_mode!r} is not supported by {name}: use 'rgb_array' or None")
        self.layout = maze_layout(name)
        self.env_name = name
        self.maze = Maze(self.layout.cells)
        self.canvas = MazeCanvas(self.layout.cells)
        self.visual = visual
        self.goal_cond = goal_cond and not visual
        self.neg_rew = neg_rew
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        low, high = self.maze.bounds()
        self.low, self.high = np.array(low), np.array(high)
        self._low_x, self._low_y = low
        self._width, self._height = high[0] - low[0], high[1] - low[1]

        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        if visual:
            self.observation_space = spaces.Box(0.0, 1.0, (3, SIZE, SIZE), np.float32)
        else:
            point = spaces.Box(0.0, 1.0, (2,), np.float32)
            self.observation_space = (
                spaces.Dict({"observation": point, "achieved_goal": point, "desired_goal": point})
                if self.goal_cond
                else point
            )
        self.reset()

    # --- state ------------------------------------------------------------------------------------------------
    @property
    def position(self) -> np.ndarray:
        """(2,) float64 agent position in world coordinates."""
        return np.array((self._x, self._y))

    @property
    def xy(self) -> tuple[float, float]:
        """The position as two Python floats (no array: for tight loops such as data collection)."""
        return self._x, self._y

    @property
    def goal(self) -> np.ndarray:
        """(2,) float64 goal in world coordinates (a cell centre)."""
        return np.array(self._goal)

    def scale(self, p) -> np.ndarray:
        """World (..., 2) -> [0, 1] (..., 2)."""
        return (np.asarray(p) - self.low) / (self.high - self.low)

    def unscale(self, p) -> np.ndarray:
        """[0, 1] (..., 2) -> world (..., 2)."""
        return np.asarray(p) * (self.high - self.low) + self.low

    # --- gymnasium API ----------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._x, self._y = self.maze.sample_start(self.layout.start_squares, self.np_random)
        self._goal = self.maze.sample_goal(self.layout.goal_squares, self.np_random)
        self._scaled_goal = self._scaled(*self._goal)
        self._t = 0
        return self._observation(), {"success": self._success()}

    def step(self, action):
        ax, ay = action
        ax, ay = min(max(float(ax), -1.0), 1.0), min(max(float(ay), -1.0), 1.0)
        if not (math.isfinite(ax) and math.isfinite(ay)):
            raise ValueError(f"MazeEnv.step: the action must be finite, got {action!r}")
        self._x, self._y = self.maze.move(self._x, self._y, ax, ay, self.np_random)
        self._t += 1
        success = self._success()
        reward = float(success) - 1.0 if self.neg_rew else float(success)
        terminated = self.terminate_on_success and success
        truncated = self._t >= self.max_steps
        return self._observation(), reward, terminated, truncated, {"success": success}

    def render(self):
        """(64, 64, 3) uint8 frame with render_mode 'rgb_array'; None (with a warning) without a render_mode."""
        if self.render_mode is None:
            gymnasium.logger.warn("MazeEnv.render() without a render_mode: create it with render_mode='rgb_array'")
            return None
        return self.canvas.draw((self._x, self._y), self._goal)

    def frame(self) -> np.ndarray:
        """(3, 64, 64) uint8 picture of the current state (agent red, goal green, cells white, +y up)."""
        return np.ascontiguousarray(self.canvas.draw((self._x, self._y), self._goal).transpose(2, 0, 1))

    # --- rewards ----------------------------------------------------------------------------------------------
    def is_success(self, achieved_goal, desired_goal):
        """Scaled (2,) or (B, 2) goals -> bool or (B,) bool: within dist_threshold in world units."""
        offset = (np.asarray(achieved_goal) - np.asarray(desired_goal)) * (self.high - self.low)
        success = np.linalg.norm(offset, axis=-1) <= self.dist_threshold
        return bool(success) if success.ndim == 0 else success

    def compute_reward(self, achieved_goal, desired_goal, info=None):
        """Scaled (2,) or (B, 2) goals -> float32 scalar or (B,): the reward step() gives (neg_rew included)."""
        reward = np.asarray(self.is_success(achieved_goal, desired_goal), dtype=np.float32)
        if self.neg_rew:
            reward = reward - np.float32(1.0)
        return reward[()]

    # --- helpers ----------------------------------------------------------------------------------------------
    def _success(self) -> bool:
        return math.hypot(self._x - self._goal[0], self._y - self._goal[1]) <= self.dist_threshold

    def _scaled(self, x: float, y: float) -> np.ndarray:
        return np.array(((x - self._low_x) / self._width, (y - self._low_y) / self._height), dtype=np.float32)

    def _observation(self):
        if self.visual:
            return self.frame().astype(np.float32) / np.float32(255)
        scaled = self._scaled(self._x, self._y)
        if not self.goal_cond:
            return scaled
        return {"observation": scaled, "achieved_goal": scaled.copy(), "desired_goal": self._scaled_goal.copy()}
