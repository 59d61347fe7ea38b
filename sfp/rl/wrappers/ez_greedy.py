"""Temporally-extended epsilon-greedy exploration (ez-greedy).

At every step that is not inside a repeat, with probability epsilon the agent's CURRENT action is held and
repeated for zipf(mu) - 1 further steps (so the whole run lasts zipf(mu) steps). The action actually executed is
reported in info["executed_action"]; the trainer stores it (the original stored the proposed action).
Randomness: a generator seeded from `seed` (params.seed), re-seeded by reset(seed=...).
"""

import gymnasium
import numpy as np

from sfp.rl.wrappers.base import TaskWrapper

STREAM = 0x5F9  # mixed into the seed so that these draws differ from the environment's own


def ez_greedy_rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(None if seed is None else [seed, STREAM])


class EzGreedyWrapper(TaskWrapper):
    def __init__(self, env: gymnasium.Env, mu: float = 2.0, epsilon: float = 0.3, seed: int | None = None):
        super().__init__(env)
        self.mu = mu
        self.epsilon = epsilon
        self.rng = ez_greedy_rng(seed)
        self.repeat_left = 0
        self._held = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = ez_greedy_rng(seed)
        self.repeat_left = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        if self.repeat_left == 0:
            executed = np.array(action, dtype=np.float32)
            if self.rng.random() < self.epsilon:
                self._held = executed
                self.repeat_left = int(self.rng.zipf(self.mu)) - 1
        else:
            executed = self._held
            self.repeat_left -= 1
        observation, reward, terminated, truncated, info = self.env.step(executed)
        return observation, reward, terminated, truncated, {**info, "executed_action": executed.copy()}
