"""Action repetition and multi-step actions (working versions of the original's dead wrappers).

n is params.prior_n_step (the original read a non-existent args.n_step and crashed).
  nstep          NStepWrapper          one agent action (n*A) = n consecutive env actions
  diagonal       ActionRepeatWrapper   one agent action (A) executed n times
  densediagonal  DenseActionRepeatWrapper  one env step per agent step; the agent's action is taken only every n
                                       steps, otherwise the held one repeats (info["executed_action"])
The multi-step wrappers stop early when the episode ends, return the summed (undiscounted) reward, report the
number of env steps taken in info["env_steps"], scale compute_reward by n (the relabelled reward of a macro step is
approximated as n times the reward at its final state, as in the original) and count max_steps in agent steps.
"""

import math

import gymnasium
import numpy as np
from gymnasium import spaces

from sfp.errors import UserError
from sfp.rl.action_priors import action_box
from sfp.rl.wrappers.base import TaskWrapper


def check_repeat(n: int) -> int:
    if int(n) < 1:
        raise UserError(f"--prior_n_step {n} must be at least 1 for the repeating action wrappers")
    return int(n)


def tiled_box(box: spaces.Box, n: int) -> spaces.Box:
    """The Box of n consecutive actions: (A,) bounds tiled to (n*A,)."""
    return spaces.Box(np.tile(box.low, n), np.tile(box.high, n), dtype=box.dtype)


class MultiStepWrapper(TaskWrapper):
    """One agent step = up to n env steps. Subclasses define sub_action(action, k) -> (A,), the env action of
    sub-step k, called right before that sub-step is executed."""

    def __init__(self, env: gymnasium.Env, n: int):
        super().__init__(env)
        self.n = check_repeat(n)

    @property
    def max_steps(self) -> int:
        return math.ceil(super().max_steps / self.n)

    def compute_reward(self, achieved_goal, desired_goal):
        return super().compute_reward(achieved_goal, desired_goal) * self.n

    def step(self, action):
        action = np.asarray(action, dtype=np.float32)
        total = 0.0
        executed = []
        for k in range(self.n):
            executed.append(self.sub_action(action, k))
            observation, reward, terminated, truncated, info = self.env.step(executed[-1])
            total += float(reward)
            if terminated or truncated:
                break
        return (
            observation,
            total,
            terminated,
            truncated,
            {**info, "env_steps": len(executed), "env_actions": np.stack(executed)},
        )


class NStepWrapper(MultiStepWrapper):
    """Agent action (n*A): n consecutive env actions, oldest first."""

    def __init__(self, env: gymnasium.Env, n: int):
        super().__init__(env, n)
        self.action_space = tiled_box(action_box(env), self.n)

    def sub_action(self, action, k):
        return action.reshape(self.n, -1)[k]


class ActionRepeatWrapper(MultiStepWrapper):
    """Agent action (A) repeated n times."""

    def sub_action(self, action, k):
        return action


class DenseActionRepeatWrapper(TaskWrapper):
    """Every agent step is one env step; a new agent action is taken at steps 0, n, 2n, ... of the episode."""

    def __init__(self, env: gymnasium.Env, n: int):
        super().__init__(env)
        self.n = check_repeat(n)
        self.steps = 0
        self._held = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.steps = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        if self.steps % self.n == 0:
            self._held = np.array(action, dtype=np.float32)
        self.steps += 1
        observation, reward, terminated, truncated, info = self.env.step(self._held)
        return observation, reward, terminated, truncated, {**info, "executed_action": self._held.copy()}
