"""Built-in task-agnostic experts of Gymnasium-Robotics tasks, in the spirit of the paper's maze expert
(sfp.data.experts.OriginalMazeExpert): head for random targets one after the other, with a smooth controller and a
little noise, so that consecutive actions are strongly correlated.

Each is a class following the rule for a user's expert (sfp.data.gym_collection): made with no arguments at the
start of every trajectory, then called `expert(observation, rng) -> action` once per step, with the observation the
environment gives (a dict of observation, achieved_goal, desired_goal) and the trajectory's numpy Generator, from
which it draws every random number. Its `target` is the point it heads for (the collector stores it as the row's
goal). Both only ever return actions in [-1, 1].

pointmaze (--env gymnasium_robotics:PointMaze_Open-v3, or another PointMaze_Open* id: the open arena of 5 x 3 cells,
  free for the ball's centre in about [-2.4, 2.4] x [-1.4, 1.4]; observation = [x, y, vx, vy], actions are forces on
  the ball). A PD controller: action = clip(3 (target - position) - 0.6 velocity, -1, 1) + N(0, 0.05^2) per
  dimension, clipped to [-1, 1]. Targets are uniform in [-2.2, 2.2] x [-1.2, 1.2]; a new one is drawn when the ball
  is within 0.2 of the current one, or after 150 steps toward it.
fetch (--env gymnasium_robotics:FetchReach-v4, or another Fetch* id: observation[0:3] is the gripper position,
  actions are dx, dy, dz of the gripper (5 cm per unit) and its opening). A P controller: action =
  [clip(5 (target - gripper), -1, 1), g] + N(0, 0.02^2) per dimension, clipped to [-1, 1], where the gripper action
  g ~ U(-1, 1) is drawn with each target and held. Targets are uniform in the box around the gripper's first
  position, +-0.15 in x and y, [-0.10, +0.15] in z (the table is about 0.12 below it); a new one is drawn when the
  gripper is within 0.02 of the current one, or after 25 steps toward it.

README's data section (docs/data.md) reports their statistics (python scripts/data_statistics.py pointmaze).
"""

from dataclasses import dataclass

import numpy as np

GYM_EXPERT_VERSION = 1  # recorded with the pieces; bump whenever a built-in expert's behaviour changes


def state_vector(observation) -> np.ndarray:
    """The observation vector of a goal task's dict (its "observation" entry) or of a flat observation."""
    return np.asarray(observation["observation"] if isinstance(observation, dict) else observation, np.float64)


class TargetExpert:
    """Head for uniform random targets in [low, high]; retarget when within reach_radius or after patience steps.
    Subclasses choose the box (`box`) and the controller (`command`)."""

    version = GYM_EXPERT_VERSION
    noise_std: float
    reach_radius: float
    patience: int

    def __init__(self) -> None:
        self.target: np.ndarray | None = None
        self.steps_toward = 0

    def box(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def position(self, state: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def command(self, state: np.ndarray) -> np.ndarray:
        """The noise-free action toward self.target."""
        raise NotImplementedError

    def new_target(self, state: np.ndarray, rng: np.random.Generator) -> None:
        self.target = rng.uniform(*self.box(state))
        self.steps_toward = 0

    def __call__(self, observation, rng: np.random.Generator) -> np.ndarray:
        state = state_vector(observation)
        if (
            self.target is None
            or self.steps_toward >= self.patience
            or np.linalg.norm(self.position(state) - self.target) <= self.reach_radius
        ):
            self.new_target(state, rng)
        self.steps_toward += 1
        command = self.command(state)
        return np.clip(command + rng.normal(0.0, self.noise_std, command.shape), -1.0, 1.0)


class PointMazeExpert(TargetExpert):
    """A noisy PD controller of the ball toward random targets of the open arena (module docstring)."""

    kp = 3.0
    kd = 0.6  # damping ratio about 0.85 with the ball's ~23.8 (m/s^2) per unit of action
    noise_std = 0.05
    reach_radius = 0.2
    patience = 150
    low = np.array([-2.2, -1.2])
    high = np.array([2.2, 1.2])

    def box(self, state):
        return self.low, self.high

    def position(self, state):
        return state[:2]

    def command(self, state):
        assert self.target is not None
        return np.clip(self.kp * (self.target - state[:2]) - self.kd * state[2:4], -1.0, 1.0)


class FetchExpert(TargetExpert):
    """A noisy P controller of the gripper toward random targets around its first position, with a random gripper
    action held per target (module docstring)."""

    gain = 5.0
    noise_std = 0.02
    reach_radius = 0.02
    patience = 25
    reach_low = np.array([-0.15, -0.15, -0.10])
    reach_high = np.array([0.15, 0.15, 0.15])

    def __init__(self) -> None:
        super().__init__()
        self.home: np.ndarray | None = None
        self.gripper = 0.0

    def box(self, state):
        if self.home is None:
            self.home = state[:3].copy()
        return self.home + self.reach_low, self.home + self.reach_high

    def position(self, state):
        return state[:3]

    def new_target(self, state, rng):
        super().new_target(state, rng)
        self.gripper = float(rng.uniform(-1.0, 1.0))

    def command(self, state):
        assert self.target is not None
        return np.append(np.clip(self.gain * (self.target - state[:3]), -1.0, 1.0), self.gripper)


@dataclass(frozen=True)
class BuiltinGymExpert:
    """A built-in expert: its class, the id prefix of the environments it is made for, and its default id."""

    expert: type
    id_prefix: str
    default_env: str
    arena: str  # what the prefix means, for messages


# --expert <key>; the key is also the data name of its collections (sfp.envs.gym_task.KNOWN_DATA)
BUILTIN_GYM_EXPERTS = {
    "pointmaze": BuiltinGymExpert(
        PointMazeExpert, "PointMaze_Open", "gymnasium_robotics:PointMaze_Open-v3", "the open arena of PointMaze_Open*"
    ),
    "fetch": BuiltinGymExpert(FetchExpert, "Fetch", "gymnasium_robotics:FetchReach-v4", "the Fetch* robot"),
}
