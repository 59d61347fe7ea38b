"""The common base of the action wrappers: the task interface stays reachable, and a seeded generator."""
import gymnasium
import numpy as np

WRAPPER_STREAM = 0x5F9  # mixed into the seed so a wrapper's draws differ from the environment's own


def wrapper_rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(None if seed is None else [seed, WRAPPER_STREAM])


class TaskWrapper(gymnasium.Wrapper):
    """A gymnasium.Wrapper that forwards the task interface of the inner env (gymnasium 1.x forwards nothing):
    compute_reward(ag (B,G), dg (B,G)) -> (B,), short_name and max_steps (in agent steps).

    self.rng: the wrapper's own generator, from `seed` and re-seeded by reset(seed=...).
    """

    def __init__(self, env: gymnasium.Env, seed: int | None = None):
        super().__init__(env)
        self.rng = wrapper_rng(seed)

    @property
    def short_name(self) -> str:
        return self.env.get_wrapper_attr("short_name")

    @property
    def max_steps(self) -> int:
        return self.env.get_wrapper_attr("max_steps")

    def compute_reward(self, achieved_goal, desired_goal):
        return self.env.get_wrapper_attr("compute_reward")(achieved_goal, desired_goal)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = wrapper_rng(seed)
        return self.env.reset(seed=seed, options=options)
