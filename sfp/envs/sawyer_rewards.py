"""Sparse Meta-World success rules computed from observations alone (so HER can relabel goals).

For every task a rule says which 3-D quantity of the observation is the *achieved goal* and how far
it may be from the *desired goal* (obs[36:39], metaworld's `_target_pos`). The rules reproduce the
success tests of the metaworld 3.1.1 `-v3` classes (`evaluate_state`), which mostly read quantities
that are in the observation; three tasks need a derived quantity:

  reach-v2            metaworld measures the tool centre point (between the finger tips), which is not
                      observed; it sits at a nearly constant offset TCP_OFFSET from the hand position
                      obs[0:3] (the hand's orientation is held fixed), so achieved = obs[0:3] + TCP_OFFSET.
  peg-insert-side-v2  metaworld measures the peg's head, which is not observed; obs[4:7] is the peg's grasp
                      point and obs[7:11] the peg's orientation quaternion (x, y, z, w), and the head sits at
                      PEG_GRASP_TO_HEAD in the peg's frame, so achieved = obs[4:7] + R(obs[7:11]) PEG_GRASP_TO_HEAD.
  lever-pull-v2       metaworld measures the lever's joint angle (success within pi/24 of upright). The lever
                      tip obs[4:7] moves on a circle of radius LEVER_RADIUS whose top is the goal, so the
                      angle error e maps to the chord |tip - goal| = 2 R sin(e/2): achieved = obs[4:7] and
                      the threshold is 2 R sin(pi/48).

Every function is vectorised: achieved/desired goals are (3,) or (B, 3); results are scalars or (B,).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TCP_OFFSET = np.array([0.0, 0.0017, -0.0449])
PEG_GRASP_TO_HEAD = np.array([-0.13, 0.0, -0.01])
LEVER_RADIUS = 0.2
BASKET_HEIGHT = 0.3


def hand_tcp(observation: np.ndarray) -> np.ndarray:
    """(..., >=36) -> (..., 3) estimated tool centre point."""
    return observation[..., 0:3] + TCP_OFFSET


def first_object(observation: np.ndarray) -> np.ndarray:
    """(..., >=36) -> (..., 3) position of the first object."""
    return observation[..., 4:7]


def rotate(quaternion_xyzw: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Rotate `vector` (3,) by unit quaternions (..., 4) in scalar-last order -> (..., 3)."""
    q = quaternion_xyzw / np.linalg.norm(quaternion_xyzw, axis=-1, keepdims=True)
    axis, w = q[..., :3], q[..., 3:]
    twice_cross = 2.0 * np.cross(axis, vector)
    return vector + w * twice_cross + np.cross(axis, twice_cross)


def peg_head(observation: np.ndarray) -> np.ndarray:
    """(..., >=36) -> (..., 3) position of the peg's head."""
    return observation[..., 4:7] + rotate(observation[..., 7:11], PEG_GRASP_TO_HEAD)


def euclidean(achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
    return np.linalg.norm(achieved - desired, axis=-1)


def along(axis: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Distance along one coordinate axis (0 = x, 1 = y, 2 = z)."""
    return lambda achieved, desired: np.abs(achieved[..., axis] - desired[..., axis])


def weighted(weights) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Euclidean distance with per-axis weights (metaworld emphasises some axes)."""
    weights = np.asarray(weights, dtype=np.float64)
    return lambda achieved, desired: np.linalg.norm((achieved - desired) * weights, axis=-1)


def horizontal(achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
    """Distance in the x-y plane (sweep-into: the hole's height does not matter)."""
    return np.linalg.norm(achieved[..., :2] - desired[..., :2], axis=-1)


def to_basket(achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
    """Basketball: the target is BASKET_HEIGHT above the floor over the hoop; z error counts double."""
    above_hoop = np.concatenate([desired[..., :2], np.full_like(desired[..., 2:], BASKET_HEIGHT)], axis=-1)
    return np.linalg.norm((achieved - above_hoop) * np.array([1.0, 1.0, 2.0]), axis=-1)


@dataclass(frozen=True)
class SuccessRule:
    """achieved: observation (..., >=36) -> (..., 3); success iff distance(achieved, desired) <= threshold."""

    achieved: Callable[[np.ndarray], np.ndarray]
    distance: Callable[[np.ndarray, np.ndarray], np.ndarray]
    threshold: float
    description: str


SUCCESS_RULES = {
    "reach-v2": SuccessRule(hand_tcp, euclidean, 0.05, "|tcp - g| <= 0.05, tcp = hand + TCP_OFFSET"),
    "push-v2": SuccessRule(first_object, euclidean, 0.05, "|obj - g| <= 0.05"),
    "pick-place-v2": SuccessRule(first_object, euclidean, 0.07, "|obj - g| <= 0.07"),
    "door-open-v2": SuccessRule(first_object, along(0), 0.08, "|handle_x - g_x| <= 0.08"),
    "door-close-v2": SuccessRule(first_object, euclidean, 0.08, "|handle - g| <= 0.08"),
    "drawer-open-v2": SuccessRule(first_object, euclidean, 0.03, "|handle - g| <= 0.03"),
    "drawer-close-v2": SuccessRule(first_object, euclidean, 0.065, "|handle - g| <= 0.065"),
    "button-press-topdown-v2": SuccessRule(first_object, along(2), 0.024, "|button_z - g_z| <= 0.024"),
    "button-press-v2": SuccessRule(first_object, along(1), 0.02, "|button_y - g_y| <= 0.02"),
    "peg-insert-side-v2": SuccessRule(
        peg_head,
        weighted([1.0, 2.0, 2.0]),
        0.07,
        "|(head - g) * [1, 2, 2]| <= 0.07, head from grasp point + orientation",
    ),
    "window-open-v2": SuccessRule(first_object, along(0), 0.05, "|handle_x - g_x| <= 0.05"),
    "window-close-v2": SuccessRule(first_object, along(0), 0.05, "|handle_x - g_x| <= 0.05"),
    "sweep-v2": SuccessRule(first_object, euclidean, 0.05, "|obj - g| <= 0.05"),
    "basketball-v2": SuccessRule(first_object, to_basket, 0.08, "|(ball - (g_x, g_y, 0.3)) * [1, 1, 2]| <= 0.08"),
    "shelf-place-v2": SuccessRule(first_object, euclidean, 0.07, "|obj - g| <= 0.07"),
    "sweep-into-v2": SuccessRule(first_object, horizontal, 0.05, "|(obj - g)_xy| <= 0.05"),
    "lever-pull-v2": SuccessRule(
        first_object,
        euclidean,
        2 * LEVER_RADIUS * np.sin(np.pi / 48),
        "|tip - g| <= 2 * 0.2 * sin(pi/48) ~ 0.0262 (lever within pi/24 of upright)",
    ),
}


def is_success(rule: SuccessRule, achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
    """(3,) or (B, 3) goals -> bool scalar or (B,) bool."""
    achieved = np.asarray(achieved, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    return rule.distance(achieved, desired) <= rule.threshold


def sparse_reward(rule: SuccessRule, achieved: np.ndarray, desired: np.ndarray, neg_rew: bool) -> np.ndarray:
    """float32 scalar or (B,): 1/0 on success/failure, or 0/-1 with neg_rew."""
    return is_success(rule, achieved, desired).astype(np.float32) - np.float32(neg_rew)
