"""MuJoCo locomotion tasks `<body>[-sparse][-biased][-noisy]` on gymnasium's `-v5` environments.

  body         swimmer, hopper, walker (Walker2d-v5), ant, halfcheetah (HalfCheetah-v5)
  -sparse      reward 1.0 once the x-displacement from the episode's start exceeds `sparsity`, else 0.0
               (without it: gymnasium's dense reward)
  -biased      observation + `bias`
  -noisy       observation + 2 * N(0, 1) per entry, drawn from the env's seeded `np_random`
Variants combine (e.g. hopper-sparse-biased-noisy). Episodes are truncated after 1000 steps; falls terminate as in
gymnasium. Observations are flat float32 vectors: these tasks are not goal-conditioned.
"""

from typing import TYPE_CHECKING, cast

import gymnasium
import numpy as np

import sfp.envs.rendering  # noqa: F401  (selects MUJOCO_GL before gymnasium's MuJoCo envs load mujoco)
from sfp.envs import locomotion_body
from sfp.errors import UserError

if TYPE_CHECKING:
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

GYMNASIUM_IDS = {
    "swimmer": "Swimmer-v5",
    "hopper": "Hopper-v5",
    "walker": "Walker2d-v5",
    "ant": "Ant-v5",
    "halfcheetah": "HalfCheetah-v5",
}
NOISE_SCALE = 2.0


class LocomotionEnv(gymnasium.Env):
    """A gymnasium locomotion body with SFP's sparse reward and observation perturbations.

    Observations (S,) float32, actions (A,) float32 in [-1, 1]. info carries gymnasium's entries plus
    "x_position" (float) and "success" (x-displacement > sparsity, whatever the reward variant).
    """

    max_steps = 1000
    goal_cond = False
    visual = False

    def __init__(
        self,
        name: str,
        sparsity: float = 14.0,
        bias: float = 0.1,
        permute_action: bool = False,
        render_mode: str | None = None,
    ):
        body = locomotion_body(name)
        if body is None:
            raise UserError(
                f"{name!r} is not a locomotion task: use <body>[-sparse][-biased][-noisy] with body "
                f"in {', '.join(GYMNASIUM_IDS)}"
            )
        variants = set(name.split("-")[1:])
        self.name = name
        self.short_name = body
        self.sparse = "sparse" in variants
        self.biased = "biased" in variants
        self.noisy = "noisy" in variants
        self.sparsity = float(sparsity)
        self.bias = float(bias)
        self.permute_action = permute_action
        self.render_mode = render_mode
        self.gymnasium_id = GYMNASIUM_IDS[body]
        # the wrapped gymnasium env, without its time limit; sim.unwrapped.data is the MuJoCo state
        self.sim = gymnasium.make(
            self.gymnasium_id, max_episode_steps=-1, disable_env_checker=True, render_mode=render_mode
        )
        self.action_space = self.sim.action_space
        shape = self.sim.observation_space.shape
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, shape, np.float32)
        self.metadata = {
            **self.metadata,
            "render_modes": self.sim.metadata.get("render_modes", []),
            "render_fps": self.sim.metadata.get("render_fps"),
        }
        self.start_x = 0.0
        self.n_steps = 0

    @property
    def x_position(self) -> float:
        """The body's x coordinate (qpos[0] for every body)."""
        return float(cast("MujocoEnv", self.sim.unwrapped).data.qpos[0])

    def _process(self, obs: np.ndarray) -> np.ndarray:
        """(S,) simulator observation -> (S,) float32 with the name's bias and noise applied."""
        obs = np.asarray(obs, dtype=np.float64)
        if self.biased:
            obs = obs + self.bias
        if self.noisy:
            obs = obs + NOISE_SCALE * self.np_random.standard_normal(obs.shape)
        return obs.astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        sim_seed = None if seed is None else int(self.np_random.integers(2**31))
        obs, info = self.sim.reset(seed=sim_seed, options=options)
        self.start_x = self.x_position
        self.n_steps = 0
        return self._process(obs), {**info, "x_position": self.start_x, "success": False}

    def step(self, action):
        action = np.asarray(action, dtype=np.float32)
        if self.permute_action:
            action = action[::-1]
        obs, dense_reward, terminated, _, info = self.sim.step(action)
        self.n_steps += 1
        x = self.x_position
        success = x - self.start_x > self.sparsity
        reward = float(success) if self.sparse else float(dense_reward)
        truncated = self.n_steps >= self.max_steps
        return self._process(obs), reward, bool(terminated), truncated, {**info, "x_position": x, "success": success}

    def compute_reward(self, achieved_goal, desired_goal, info=None):
        raise UserError(
            f"{self.name} is a locomotion task and not goal-conditioned, so its reward cannot be "
            "recomputed for new goals: run it with --her False"
        )

    def render(self):
        return self.sim.render()

    def close(self):
        self.sim.close()
