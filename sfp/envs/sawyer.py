"""Meta-World tasks as sparse-reward, optionally goal-conditioned gymnasium environments.

The paper's `-v2` task names run the metaworld 3.1.1 `-v3` goal-observable classes (the only release on
PyPI). Rewards are sparse and computed from observations by the per-task rules of
`sfp.envs.sawyer_rewards`, so HER relabelling and step() always agree; metaworld's own info (including
info["success"]) is passed through.
"""

import gymnasium
import numpy as np

from sfp.envs import SAWYER_TASKS, sawyer_task
from sfp.envs.rendering import (  # selects MUJOCO_GL before metaworld loads mujoco
    OffscreenRenderer,
    channels_first,
)
from sfp.envs.sawyer_rewards import SUCCESS_RULES, is_success, sparse_reward
from sfp.errors import UserError

OBS_DIM = 36
GOAL_DIM = 3
IMAGE_SIZE = 64
CAMERA = "corner"
CONSTRUCTION_SEED = 0


def build_metaworld_env(task: str, fix_env_seed: bool):
    """The metaworld `-v3` goal-observable env of the `-v2` `task`, drawing a new configuration each reset
    from its own seeded generator (or always the same one with fix_env_seed)."""
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE

    # metaworld types the goal-observable classes as type[SawyerXYZEnv], but they replace __init__ by one with `seed`
    env = ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{task[:-3]}-v3-goal-observable"](seed=CONSTRUCTION_SEED)  # type: ignore[call-arg]
    env.seeded_rand_vec = True
    env._freeze_rand_vec = fix_env_seed
    return env


class SawyerEnv(gymnasium.Env):
    """A Meta-World task with sparse rewards (1 on success else 0; 0/-1 with neg_rew).

    Observations: goal_cond -> Dict(observation (36,), achieved_goal (3,), desired_goal (3,)) float32;
    otherwise the flat (36,) float32 vector; visual -> (3, 64, 64) float32 in [0, 1] from the 'corner'
    camera (goal_cond is then ignored). Episodes are truncated after `max_steps` = 500 steps.
    Each reset draws a new object/goal configuration; reset(seed=s) makes the following episodes
    reproducible. fix_env_seed keeps one fixed configuration for every reset.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 80}
    short_name = "sawyer"
    max_steps = 500

    def __init__(
        self,
        task: str,
        goal_cond: bool = True,
        visual: bool = False,
        neg_rew: bool = False,
        terminate_on_success: bool = False,
        fix_env_seed: bool = False,
        render_mode: str | None = None,
    ):
        if render_mode not in (None, "rgb_array"):
            raise UserError(f"render_mode {render_mode!r} is not supported: use 'rgb_array' or None")
        self.task = sawyer_task(task)
        if self.task is None:
            raise UserError(f"unknown Meta-World task {task!r}: use one of {', '.join(SAWYER_TASKS)} (or -v3)")
        self.metaworld_env = build_metaworld_env(self.task, fix_env_seed)  # the metaworld simulator
        self.metaworld_class = type(self.metaworld_env).__name__
        self.rule = SUCCESS_RULES[self.task]
        self.visual = visual
        self.goal_cond = goal_cond and not visual
        self.neg_rew = neg_rew
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self.action_space = self.metaworld_env.action_space
        self.observation_space = self._observation_space()
        self._renderer: OffscreenRenderer | None = None
        self._steps: int | None = None  # steps of the current episode; None before the first reset

    def _observation_space(self) -> gymnasium.Space:
        if self.visual:
            return gymnasium.spaces.Box(0.0, 1.0, (3, IMAGE_SIZE, IMAGE_SIZE), np.float32)
        flat = gymnasium.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)
        if not self.goal_cond:
            return flat
        goal = gymnasium.spaces.Box(-np.inf, np.inf, (GOAL_DIM,), np.float32)
        return gymnasium.spaces.Dict(observation=flat, achieved_goal=goal, desired_goal=goal)

    # ---- goals and rewards -------------------------------------------------------------------------
    def goals(self, raw_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """metaworld observation (..., 39) -> float32 (achieved (..., 3), desired (..., 3))."""
        achieved = self.rule.achieved(raw_obs).astype(np.float32)
        return achieved, raw_obs[..., OBS_DIM : OBS_DIM + GOAL_DIM].astype(np.float32)

    def compute_reward(self, achieved_goal, desired_goal, info=None) -> np.ndarray:
        """(3,) or (B, 3) goals -> float32 scalar or (B,): the same sparse reward step() returns."""
        return sparse_reward(self.rule, achieved_goal, desired_goal, self.neg_rew)

    def is_success(self, achieved_goal, desired_goal) -> np.ndarray:
        """(3,) or (B, 3) goals -> bool or (B,) bool."""
        return is_success(self.rule, achieved_goal, desired_goal)

    # ---- gymnasium API -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            # metaworld ignores reset(seed=): its configurations come from the generator seeded here
            self.metaworld_env.seed(seed)
        raw_obs, info = self.metaworld_env.reset()
        self._steps = 0
        return self._observe(raw_obs, *self.goals(raw_obs)), info

    def step(self, action):
        if self._steps is None or self._steps >= self.max_steps:
            raise RuntimeError("call reset() before step() (the episode has not started or was truncated)")
        raw_obs, _, _, _, info = self.metaworld_env.step(np.asarray(action, dtype=np.float32))
        self._steps += 1
        achieved, desired = self.goals(raw_obs)
        reward = float(self.compute_reward(achieved, desired))
        terminated = bool(self.terminate_on_success and self.is_success(achieved, desired))
        truncated = self._steps >= self.max_steps
        return self._observe(raw_obs, achieved, desired), reward, terminated, truncated, info

    def _observe(self, raw_obs: np.ndarray, achieved: np.ndarray, desired: np.ndarray):
        if self.visual:
            return self.frame().astype(np.float32) / 255.0
        observation = raw_obs[:OBS_DIM].astype(np.float32)
        if not self.goal_cond:
            return observation
        return {"observation": observation, "achieved_goal": achieved, "desired_goal": desired}

    # ---- data collection helpers -------------------------------------------------------------------
    def set_reach_target(self, xyz) -> None:
        """Move the goal (`_target_pos` and the goal site(s)) to `xyz` (3,); the next observation shows it."""
        target = np.array(xyz, dtype=np.float64)
        self.metaworld_env._target_pos = target
        clip_box = self.metaworld_env.sawyer_observation_space  # metaworld clips observed goals to this box
        clip_box.low[-GOAL_DIM:] = np.minimum(clip_box.low[-GOAL_DIM:], target)
        clip_box.high[-GOAL_DIM:] = np.maximum(clip_box.high[-GOAL_DIM:], target)
        for site, _ in self.metaworld_env._target_site_config:
            self.metaworld_env.model.site(site).pos = target
            self.metaworld_env._set_pos_site(site, target)

    def frame(self) -> np.ndarray:
        """(3, 64, 64) uint8 upright RGB image of the current state from the 'corner' camera."""
        return channels_first(self._render_upright())

    def render(self):
        """(64, 64, 3) uint8 image with render_mode 'rgb_array', else None."""
        return self._render_upright() if self.render_mode == "rgb_array" else None

    def _render_upright(self) -> np.ndarray:
        if self._renderer is None:
            self._renderer = OffscreenRenderer(
                self.metaworld_env.model, CAMERA, IMAGE_SIZE, IMAGE_SIZE, flip_vertical=True
            )
        return self._renderer.render(self.metaworld_env.data)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.metaworld_env.close()
