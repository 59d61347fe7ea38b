"""The common base of the action wrappers: the task interface of the inner env stays reachable."""

import gymnasium


class TaskWrapper(gymnasium.Wrapper):
    """A gymnasium.Wrapper that forwards the task interface of the inner env (gymnasium 1.x forwards nothing):
    compute_reward(ag (B,G), dg (B,G)) -> (B,), short_name and max_steps (counted in agent steps)."""

    @property
    def short_name(self) -> str:
        return self.env.get_wrapper_attr("short_name")

    @property
    def max_steps(self) -> int:
        return self.env.get_wrapper_attr("max_steps")

    def compute_reward(self, achieved_goal, desired_goal):
        return self.env.get_wrapper_attr("compute_reward")(achieved_goal, desired_goal)
