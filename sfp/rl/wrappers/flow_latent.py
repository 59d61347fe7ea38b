"""The agent acts in the latent space of the state-free prior (action_prior 'flow').

One agent action (n*A) in the tiled inner Box holds n latents z_1..z_n (A each), used directly as flow latents (no
quantile mapping, as the original FlowWrapper). Each is decoded by the SFP prior p(a_t | a_{t-n..t-1}) (checkpoint
'flow', cond 'action', n = prior_n_step) conditioned on the n env actions executed last, oldest first; the window
starts at every reset as n consecutive dataset actions (sfp.rl.action_windows, honouring rand_init_cond) and rolls
after each decoded action. A one_step prior is
decoded without a condition. The n env actions run as one macro step (see sfp.rl.wrappers.repeat.MultiStepWrapper).
"""

import gymnasium
import numpy as np

from sfp.rl.action_priors import action_box
from sfp.rl.action_windows import push
from sfp.rl.wrappers.latent import decode_latent
from sfp.rl.wrappers.repeat import MultiStepWrapper, tiled_box


class FlowLatentWrapper(MultiStepWrapper):
    """windows: sample() -> (n, A) initial window of dataset actions (sfp.rl.action_windows.InitialWindows)."""

    def __init__(self, env: gymnasium.Env, prior, n: int, windows, device="cpu"):
        super().__init__(env, n)
        self.prior = prior
        self.device = device
        self.windows = windows
        box = action_box(env)
        self.low = box.low.astype(np.float64)
        self.high = box.high.astype(np.float64)
        self.action_space = tiled_box(box, self.n)
        self.window = None  # (n, A) env actions executed last, oldest first

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self.window = self.windows.sample()
        return observation, info

    def sub_action(self, action, k):
        latent = action.reshape(self.n, -1)[k]
        condition = None if self.prior.one_step else self.window.reshape(-1)
        env_action = decode_latent(self.prior, latent, condition, self.low, self.high, self.device)
        self.window = push(self.window, env_action)
        return env_action
