"""The prior's conditioning window at the start of an episode (`rand_init_cond`).

Before any action has been taken, an action prior p(a_t | a_{t-n..t-1}) needs n previous actions. They come from
the expert dataset: with `rand_init_cond` a random window inside a random trajectory (the original let windows cross
trajectory boundaries; they no longer do), otherwise the first n actions of a random trajectory. Runs whose agent
does not condition on actions need no dataset and get a zero window (the original loaded the dataset for every run,
plain SAC included).
"""

import numpy as np

from sfp.data.dataset import ExpertData


class InitialWindows:
    """Draws (n, A) windows. data: the expert dataset, or None for zero windows."""

    def __init__(self, data: ExpertData | None, n: int, act_dim: int, random_start: bool, seed: int):
        self.n, self.act_dim, self.random_start = n, act_dim, random_start
        self.rng = np.random.default_rng(seed)
        self.actions = None
        if data is not None:
            lengths = np.diff(data.bounds)
            usable = np.flatnonzero(lengths >= n)
            if len(usable) == 0:
                raise ValueError(f"no trajectory of the dataset has {n} actions")
            self.actions = data.actions
            self.starts, self.lengths = data.bounds[usable], lengths[usable]

    def sample(self) -> np.ndarray:
        """A window (n, A), oldest action first."""
        if self.actions is None:
            return np.zeros((self.n, self.act_dim), np.float32)
        trajectory = self.rng.integers(len(self.starts))
        offset = self.rng.integers(self.lengths[trajectory] - self.n + 1) if self.random_start else 0
        start = self.starts[trajectory] + offset
        return np.array(self.actions[start : start + self.n], np.float32)

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


def push(window: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Drop the oldest action of an (n, A) window and append `action` (A,)."""
    return np.concatenate([window[1:], np.asarray(action, np.float32)[None]], axis=0)
