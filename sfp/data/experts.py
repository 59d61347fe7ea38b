"""The task-agnostic experts that generate SFP's prior data: two for the maze, one for Meta-World.

An expert rolls out one trajectory of T steps and returns the arrays of one piece (the keys of sfp.data.dataset). Row k
holds the state s_k, the action taken there, the target the expert was heading for when it chose that action
(in the frame of the observations) and, if asked, the frame of s_k:

  observations (T, S) float32   actions (T, A) float32   goals (T, G) float32   rewards (T,) float32 (zeros)
  terminals (T,) bool (none)    timeouts (T,) bool (the last row)              images (T, 3, 64, 64) uint8

point-maze (room-v1; S = A = G = 2). A point moving at unit speed toward random targets: action = unit vector from
  the position to the target + N(0, 0.05^2) per dimension. A new target is drawn when the point is within 0.5 of
  it or after 61 steps. Observations and goals are stored scaled to [0, 1]^2, like the environment's observations.
  Two experts (`--expert`):
  original  the paper's data (the default). Targets are uniform in [-14.5, 14.5]^2 in world units but compared
            with the *scaled* position (the original release's frame mismatch), so a target is practically never
            reached: every action points one fixed way for 61 steps and the point slides along the outer walls.
            The actions are not clipped (entries reach about 1.18) and move the point by their full length.
  fixed     the frame fixed: position and target in world units, targets uniform over the room, actions clipped
            to the action space (the stored action is the one executed). Targets are reached every ~14 steps.
  README's data section gives both experts' statistics. The point moves with the maze's own dynamics
  (MazeEnv.maze.move, wall sliding and its random push included); only the clip differs between the two.
meta-world (reach-v2; S = 36, A = 4, G = 3). A P-controller of the hand: action = clip([5 (target - hand),
  U(-1, 1) gripper], -1, 1) + N(0, 0.02^2) per dimension (the noise comes after the clip, as in the original,
  so entries can exceed 1 by a few hundredths; Meta-World clips them when it executes them). A new target,
  uniform in the hand box, is drawn when the hand is within 0.05 of it. Observations are obs[:36], goals the
  target xyz.

All draw their random numbers from the generator they are given (and the environment's), so a trajectory is a
function of the environment seed and that generator. The original's goals lagged one row behind a target switch;
here goals[k] is the target that produced actions[k].
"""

import math

import numpy as np

from sfp import paths
from sfp.errors import UserError

EXPERT_VERSION = 2  # 1 = the original release's experts; bump whenever an expert's behaviour changes


def empty_piece(traj_len: int, obs_dim: int, act_dim: int, goal_dim: int, images: bool) -> dict[str, np.ndarray]:
    """Preallocated arrays of one trajectory (see the module docstring); timeouts[-1] is already set."""
    piece = {
        "observations": np.zeros((traj_len, obs_dim), np.float32),
        "actions": np.zeros((traj_len, act_dim), np.float32),
        "goals": np.zeros((traj_len, goal_dim), np.float32),
        "rewards": np.zeros(traj_len, np.float32),
        "terminals": np.zeros(traj_len, bool),
        "timeouts": np.zeros(traj_len, bool),
    }
    piece["timeouts"][-1] = True
    if images:
        piece["images"] = np.zeros((traj_len, 3, 64, 64), np.uint8)
    return piece


class MazeExpert:
    """Straight runs at unit speed toward random targets in room-v1; subclasses differ in the frame of the
    comparison, the target box and the clip (see the module docstring)."""

    suite = "point-maze"
    short = "maze"
    env_name = "room-v1"
    dims = (2, 2, 2)  # observation, action, goal
    noise_std = 0.05
    reach_radius = 0.5
    patience = 61  # steps toward one target before a new one is drawn
    name: str  # original | fixed
    clip: bool  # clip actions to [-1, 1] before they are stored and executed

    @property
    def data_name(self) -> str:
        """Name of this expert's pieces, dataset and priors (sfp.paths.data_name)."""
        return paths.data_name(self.short, self.name)

    def make_env(self):
        from sfp.envs import make_env

        return make_env(self.env_name, goal_cond=False)

    def target_box(self, env) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of the uniform targets, world units."""
        raise NotImplementedError

    def frame(self, env) -> tuple[float, float, float, float]:
        """(ox, oy, wx, wy): the expert compares ((x - ox) / wx, (y - oy) / wy) with its target."""
        raise NotImplementedError

    def rollout(self, env, rng: np.random.Generator, env_seed: int, traj_len: int, images: bool = False) -> dict:
        # Maze.move takes ~3 us, so this loop stays in plain Python floats and lists (no per-step numpy)
        piece = empty_piece(traj_len, *self.dims, images)
        env.reset(seed=env_seed)
        targets = rng.uniform(*self.target_box(env), size=(traj_len + 1, 2))  # at most one new target per step
        noise = rng.normal(0.0, self.noise_std, size=(traj_len, 2)).tolist()
        target_list, move, hypot, clip = targets.tolist(), env.maze.move, math.hypot, self.clip
        ox, oy, wx, wy = self.frame(env)
        positions, actions, switch_rows = [], [], []
        current, steps_toward = 0, 0
        tx, ty = target_list[0]
        px, py = env.xy
        for k in range(traj_len):
            positions.append((px, py))
            if images:  # the frame shows the expert's target in green, as in the original
                piece["images"][k] = env.canvas.draw((px, py), (tx, ty)).transpose(2, 0, 1)
            dx, dy = tx - (px - ox) / wx, ty - (py - oy) / wy
            distance = hypot(dx, dy) or 1.0
            nx, ny = noise[k]
            ax, ay = dx / distance + nx, dy / distance + ny
            if clip:
                ax = 1.0 if ax > 1.0 else -1.0 if ax < -1.0 else ax
                ay = 1.0 if ay > 1.0 else -1.0 if ay < -1.0 else ay
            actions.append((ax, ay))
            px, py = move(px, py, ax, ay, env.np_random)
            steps_toward += 1
            if steps_toward >= self.patience or hypot(tx - (px - ox) / wx, ty - (py - oy) / wy) <= self.reach_radius:
                current, steps_toward = current + 1, 0
                tx, ty = target_list[current]
                switch_rows.append(k + 1)
        piece["observations"][:] = env.scale(np.array(positions))  # what reset/step returned, in one pass
        piece["actions"][:] = actions
        target_of_row = np.repeat(np.arange(current + 1), np.diff([0, *switch_rows, traj_len]))
        piece["goals"][:] = env.scale(targets[target_of_row])
        return piece


class OriginalMazeExpert(MazeExpert):
    """The original release's expert: raw targets in [-14.5, 14.5]^2 compared with the scaled position, unclipped."""

    name = "original"
    clip = False
    target_range = 14.5  # the original's sparsity 15 less 0.5 (room-v1 itself ends at 13.5)

    def target_box(self, env):
        return np.full(2, -self.target_range), np.full(2, self.target_range)

    def frame(self, env):
        (ox, oy), (wx, wy) = env.low.tolist(), (env.high - env.low).tolist()
        return ox, oy, wx, wy


class FixedMazeExpert(MazeExpert):
    """The frame fixed: position and targets in world units, targets over the room, clipped actions."""

    name = "fixed"
    clip = True

    def target_box(self, env):
        return env.unscale(np.zeros(2)), env.unscale(np.ones(2))

    def frame(self, env):
        return 0.0, 0.0, 1.0, 1.0


class SawyerExpert:
    """A noisy P-controller reaching uniform random points with the Sawyer hand (see the module docstring)."""

    suite = "meta-world"
    short = "sawyer"
    env_name = "reach-v2"
    dims = (36, 4, 3)
    gain = 5.0
    noise_std = 0.02  # 0.01 * (high - low) of the action space
    reach_radius = 0.05
    hand_low = np.array([-0.45, 0.40, 0.10])
    hand_high = np.array([0.45, 0.85, 0.45])
    name = "original"  # the original release's controller; Meta-World has no other expert
    data_name = "sawyer"

    def make_env(self):
        from sfp.envs import make_env

        return make_env(self.env_name, goal_cond=False)

    def rollout(self, env, rng: np.random.Generator, env_seed: int, traj_len: int, images: bool = False) -> dict:
        piece = empty_piece(traj_len, *self.dims, images)
        observations, actions, frames = piece["observations"], piece["actions"], piece.get("images")
        obs, _ = env.reset(seed=env_seed)
        targets = rng.uniform(self.hand_low, self.hand_high, size=(traj_len + 1, 3))
        grippers = rng.uniform(-1.0, 1.0, size=traj_len)
        noise = rng.normal(0.0, self.noise_std, size=(traj_len, 4))
        target_of_row = np.zeros(traj_len, np.int64)
        current = 0
        env.set_reach_target(targets[0])
        command = np.empty(4)
        for k in range(traj_len):
            observations[k] = obs[:36]
            if frames is not None:  # images
                frames[k] = env.frame()
            np.multiply(self.gain, targets[current] - obs[:3], out=command[:3])
            command[3] = grippers[k]
            np.clip(command, -1.0, 1.0, out=command)
            np.add(command, noise[k], out=actions[k], casting="same_kind")
            target_of_row[k] = current
            obs = env.step(actions[k])[0]
            if np.linalg.norm(obs[:3] - targets[current]) <= self.reach_radius:
                current += 1
                env.set_reach_target(targets[current])
        piece["goals"][:] = targets[target_of_row]
        return piece


EXPERTS = {(expert.suite, expert.name): expert for expert in (OriginalMazeExpert(), FixedMazeExpert(), SawyerExpert())}


def expert_for(suite: str, expert: str = paths.DEFAULT_EXPERT):
    """The expert `expert` (original | fixed) of 'point-maze' or 'meta-world' (UserError otherwise)."""
    if (suite, expert) in EXPERTS:
        return EXPERTS[suite, expert]
    if suite not in paths.SUITES:
        raise UserError(f"no expert for {suite!r}: use --env point-maze or --env meta-world")
    names = [name for known_suite, name in EXPERTS if known_suite == suite]
    raise UserError(f"{suite} has no expert {expert!r}: use --expert {' or '.join(names)}")
