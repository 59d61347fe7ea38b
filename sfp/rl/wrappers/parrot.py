"""PARROT: the agent acts in a flow prior's latent space, mapped to env actions.

Conditions (each trained with flows/train.py under the same mode):
  state        observation                      (S,)        PARROT-state, not goal-conditioned
  state+goal   [observation, desired_goal]      (S+G,)      PARROT-state, goal-conditioned
  image        the current frame                (3,64,64)   PARROT-image (visual observations)
  action       the last executed env action     (A,)        PARROT-action; at reset a dataset action
                                                            (sfp.rl.action_windows, honouring rand_init_cond)
  none         no condition                                 one_step (unconditional) priors
The agent's action space stays the inner Box and the replay stores the agent's (latent-side) action; the
executed env action is reported in info["env_action"].
"""

import gymnasium
import numpy as np

from sfp.rl.action_priors import action_box
from sfp.rl.wrappers.base import TaskWrapper
from sfp.rl.wrappers.latent import decode_latent, uniform_to_gaussian

PARROT_CONDITIONS = ("state", "state+goal", "image", "action", "none")


def observation_condition(observation, condition: str) -> np.ndarray:
    """The prior condition of an observation (dict or array) for the state, state+goal and image modes."""
    if condition == "state+goal":
        return np.concatenate([observation["observation"], observation["desired_goal"]])
    if isinstance(observation, dict):
        return np.asarray(observation["observation"])
    return np.asarray(observation)


class ParrotWrapper(TaskWrapper):
    """agent action a in [low, high] -> z = Phi^-1(u(a)) -> prior.transform(z, condition) -> clipped env action.

    prior: an object with transform(z (B,A), cond (B,...) | None) -> (B,A) (sfp.priors.loading.Prior).
    windows: for condition 'action', the source of the initial condition at every reset: an object whose
    sample() returns a (1, A) window of dataset actions (sfp.rl.action_windows.InitialWindows with n = 1).
    """

    def __init__(self, env: gymnasium.Env, prior, condition: str, device="cpu", windows=None):
        super().__init__(env)
        if condition not in PARROT_CONDITIONS:
            raise ValueError(f"unknown PARROT condition {condition!r}")
        if condition == "action" and windows is None:
            raise ValueError("PARROT-action needs dataset windows for its initial condition")
        self.prior = prior
        self.condition = condition
        self.device = device
        self.windows = windows
        box = action_box(env)
        self.low = box.low.astype(np.float64)
        self.high = box.high.astype(np.float64)
        self._observation = None
        self._last_action = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self._observation = observation
        if self.condition == "action":
            self._last_action = self.windows.sample()[-1]
        return observation, info

    def current_condition(self) -> np.ndarray | None:
        """The condition the next step passes to the prior."""
        if self.condition == "none":
            return None
        if self.condition == "action":
            return self._last_action
        return observation_condition(self._observation, self.condition)

    def step(self, action):
        latent = uniform_to_gaussian(action, self.low, self.high)
        env_action = decode_latent(self.prior, latent, self.current_condition(), self.low, self.high, self.device)
        observation, reward, terminated, truncated, info = self.env.step(env_action)
        self._observation = observation
        self._last_action = env_action
        return observation, reward, terminated, truncated, {**info, "env_action": env_action}
