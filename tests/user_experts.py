"""Scripted experts as a user writes them, for tests/test_data_gym.py (--expert user_experts:<name>; pytest puts
tests/ on sys.path). Good ones for PointMaze_Open-v3 (observation [x, y, vx, vy], force actions) and FetchReach-v4,
and bad ones, each with one mistake."""

import sys

import numpy as np


class Orbiter:
    """A class expert (made with no arguments per trajectory): circles the arena's centre, heading for a point a
    quarter turn ahead of the ball; `target` is that point, stored as the row's goal."""

    version = 3
    radius = 1.0

    def __init__(self):
        self.target = None

    def __call__(self, observation, rng):
        state = observation["observation"]
        angle = np.arctan2(state[1], state[0]) + np.pi / 2
        self.target = self.radius * np.array([np.cos(angle), np.sin(angle)])
        action = 2.0 * (self.target - state[:2]) - 0.5 * state[2:4] + rng.normal(0.0, 0.05, 2)
        return np.clip(action, -1.0, 1.0)


def lift(observation, rng):
    """A function expert for Fetch (no target: goals are the next achieved goals): up, with a random gripper."""
    return np.array([0.0, 0.0, 0.5, rng.uniform(-1.0, 1.0)])


def seek_goal(observation, rng):
    """Heads for the environment's own desired goal (for a test of an episode that ends early)."""
    state = observation["observation"]
    return np.clip(3.0 * (observation["desired_goal"] - state[:2]) - 0.6 * state[2:4], -1.0, 1.0)


def wrong_shape(observation, rng):
    return np.zeros(3)


def too_big(observation, rng):
    return np.array([2.0, 0.0])


def not_finite(observation, rng):
    return np.array([np.nan, 0.0])


def broken(observation, rng):
    return observation["no such key"]


def exits(observation, rng):
    sys.exit(3)


class ExitsWhenMade:
    def __init__(self):
        sys.exit()

    def __call__(self, observation, rng):
        return np.zeros(2)


def takes_one(observation):
    return np.zeros(2)


class TakesThree:
    def __call__(self, observation, rng, step):
        return np.zeros(2)


def returns_none(observation, rng):
    return None


def returns_strings(observation, rng):
    return ["0.1", "0.2"]


def returns_complex(observation, rng):
    return np.array([0.1 + 0.5j, 0.2])


NOT_CALLABLE = 3


def hopper(observation, rng):
    """Named like imported locomotion data: its default data name is refused."""
    return np.zeros(2)


class Maze:
    """Named like the point-maze suite's data."""

    def __call__(self, observation, rng):
        return np.zeros(2)
