"""The two task-agnostic experts that generate SFP's prior data (reference §1.2), with the maze frame fixed.

An expert rolls out one trajectory of T steps and returns the arrays of one piece (the keys of sfp.data.dataset). Row k
holds the state s_k, the action taken there, the target the expert was heading for when it chose that action
(in the frame of the observations) and, if asked, the frame of s_k:

  observations (T, S) float32   actions (T, A) float32   goals (T, G) float32   rewards (T,) float32 (zeros)
  terminals (T,) bool (none)    timeouts (T,) bool (the last row)              images (T, 3, 64, 64) uint8

point-maze (room-v1; S = A = G = 2). A point moving at unit speed toward random targets drawn uniformly over the
  room: action = clip(unit vector from the position to the target + N(0, 0.05^2) per dimension, -1, 1). A new
  target is drawn when the point is within 0.5 of it or after 61 steps. Position and target live in the same
  (raw world) frame; observations and goals are stored scaled to [0, 1]^2, like the environment's observations.
  The original release compared the scaled position with a raw target, so its "target" was reached practically
  never and every action pointed in one fixed direction for 61 steps, sliding along the walls. Measured on 200
  trajectories of 500 steps: segments of one target last 61 steps in 100% of cases originally, 13.8 steps on
  average here (median 14, 90th percentile 23, none reaching 61); rows within 0.5 of the outer wall drop from 85%
  to 1%; both cover all 729 cells. The actions are
  clipped to the action space here (the original stored unclipped values up to about 1.18): the stored action is
  the one the environment executes (rounded to float32).
meta-world (reach-v2; S = 36, A = 4, G = 3). A P-controller of the hand: action = clip([5 (target - hand),
  U(-1, 1) gripper], -1, 1) + N(0, 0.02^2) per dimension (the noise comes after the clip, as in the original,
  so entries can exceed 1 by a few hundredths; Meta-World clips them when it executes them). A new target,
  uniform in the hand box, is drawn when the hand is within 0.05 of it. Observations are obs[:36], goals the
  target xyz.

Both draw all their random numbers from the generator they are given, so a trajectory is a function of the
environment seed and that generator. The original's goals lagged one row behind a target switch; here goals[k]
is the target that produced actions[k].
"""
import math

import numpy as np

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
    """Straight runs at unit speed toward uniform random targets in room-v1 (see the module docstring)."""

    suite = "point-maze"
    short = "maze"
    env_name = "room-v1"
    dims = (2, 2, 2)  # observation, action, goal
    noise_std = 0.05
    reach_radius = 0.5
    patience = 61  # steps toward one target before a new one is drawn

    def make_env(self):
        from sfp.envs import make_env

        return make_env(self.env_name, goal_cond=False)

    def rollout(self, env, rng: np.random.Generator, env_seed: int, traj_len: int, images: bool = False) -> dict:
        # MazeEnv.step takes ~3 us, so this loop stays in plain Python floats and lists (no per-step numpy)
        piece = empty_piece(traj_len, *self.dims, images)
        env.reset(seed=env_seed)
        corner_low, corner_high = env.unscale(np.zeros(2)), env.unscale(np.ones(2))
        targets = rng.uniform(corner_low, corner_high, size=(traj_len + 1, 2))  # at most one new target per step
        noise = rng.normal(0.0, self.noise_std, size=(traj_len, 2)).tolist()
        target_list, step, hypot = targets.tolist(), env.step, math.hypot
        positions, actions, switch_rows = [], [], []
        current, steps_toward = 0, 0
        tx, ty = target_list[0]
        px, py = env.xy
        for k in range(traj_len):
            positions.append((px, py))
            if images:  # the frame shows the expert's target in green, as in the original
                piece["images"][k] = env.canvas.draw((px, py), (tx, ty)).transpose(2, 0, 1)
            dx, dy = tx - px, ty - py
            distance = hypot(dx, dy) or 1.0
            nx, ny = noise[k]
            ax, ay = dx / distance + nx, dy / distance + ny
            action = (1.0 if ax > 1.0 else -1.0 if ax < -1.0 else ax, 1.0 if ay > 1.0 else -1.0 if ay < -1.0 else ay)
            actions.append(action)
            step(action)
            px, py = env.xy
            steps_toward += 1
            if steps_toward >= self.patience or hypot(tx - px, ty - py) <= self.reach_radius:
                current, steps_toward = current + 1, 0
                tx, ty = target_list[current]
                switch_rows.append(k + 1)
        piece["observations"][:] = env.scale(np.array(positions))  # what reset/step returned, in one pass
        piece["actions"][:] = actions
        target_of_row = np.repeat(np.arange(current + 1), np.diff([0, *switch_rows, traj_len]))
        piece["goals"][:] = env.scale(targets[target_of_row])
        return piece


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
            if images:
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


EXPERTS = {expert.suite: expert for expert in (MazeExpert(), SawyerExpert())}


def expert_for(suite: str):
    """The expert of 'point-maze' or 'meta-world' (UserError otherwise)."""
    if suite not in EXPERTS:
        raise UserError(f"no expert for {suite!r}: use --env point-maze or --env meta-world")
    return EXPERTS[suite]
