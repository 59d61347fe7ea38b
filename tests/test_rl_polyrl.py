"""PolyRL: persistent actions, walk statistics, robustness, resume."""

import io
import math

import numpy as np
import pytest
import torch

from sfp.rl.polyrl import PolyRL, persistent_direction, polyrl_constants


def angle(u, v):
    return math.acos(np.clip(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)), -1.0, 1.0))


def never_target():
    raise AssertionError("the walk should not hand over to the policy here")


def test_constants_by_env_name():
    assert polyrl_constants("halfcheetah-sparse") == (0.35, 0.05, 0.00007)
    assert polyrl_constants("hopper-sparse") == polyrl_constants("corridor-v1") == (0.35, 0.01, 0.017)


def test_persistent_direction_has_angle_eta():
    rng = np.random.default_rng(0)
    previous = np.array([0.3, -0.2, 0.1])
    for eta in (0.1, 0.35, 1.0):
        draw = rng.uniform(-1, 1, 3)
        turned = persistent_direction(draw, previous, eta)
        assert angle(turned, previous) == pytest.approx(eta, abs=1e-9)
        # it stays in the plane spanned by the previous action and the draw
        assert np.linalg.det(np.stack([turned, previous, draw])) == pytest.approx(0.0, abs=1e-12)


def test_select_action_turns_the_previous_action_by_eta():
    polyrl = PolyRL("corridor-v1", obs_dim=2, action_dim=3, rng=np.random.default_rng(1))
    first = polyrl.select_action(np.zeros(2), np.zeros(3), never_target)  # t == 0: uniform
    assert first.shape == (3,) and np.all(np.abs(first) <= 1)
    polyrl.post_step(np.zeros(2), np.ones(2))
    previous = np.array([0.2, 0.1, -0.1])
    checked = 0
    for _ in range(20):
        state = polyrl.state_dict()
        action = polyrl.select_action(np.zeros(2), previous, never_target)
        assert polyrl.i == 2 and 0 < polyrl.eta < 1
        if np.all(np.abs(action) < 1):  # not clipped: the angle is exact
            assert angle(action, previous) == pytest.approx(polyrl.eta, abs=1e-9)
            checked += 1
        polyrl.load_state_dict(state)
        polyrl.rng.random()  # move to a different draw
    assert checked >= 10


def test_walk_statistics_on_a_hand_made_three_step_walk():
    polyrl = PolyRL("corridor-v1", obs_dim=2, action_dim=2, rng=np.random.default_rng(0))
    polyrl.pre_episode(10)
    eps = 1 - math.exp(-0.1)
    shrink = 1 - math.sqrt(2 * (1 - eps))  # (1 - sqrt(2(1 - eps)))
    states = [np.array(p, float) for p in ([0, 0], [1, 0], [2, 1], [3, 1])]

    polyrl.post_step(states[0], states[1])  # i = 1: only b, C, B move
    assert polyrl.b == 1 and np.allclose(polyrl.C, [0, 0]) and np.allclose(polyrl.B, [1, 0]) and polyrl.t == 1
    polyrl.select_action(states[1], np.array([1.0, 0.0]), never_target)  # i == 1 -> persistent, i = 2

    polyrl.post_step(states[1], states[2])  # step (1, 1) after (1, 0)
    c = 1 / math.sqrt(2)
    assert np.allclose(polyrl.B, [3, 2])
    assert polyrl.g == pytest.approx(0.5) and polyrl.dg == pytest.approx(0.5)
    assert polyrl.C_theta == pytest.approx(c)
    # U = (i^2 b + |B|^2 + 2 i b K) / (i^3 eps) - g_old/(i-1), K = 1 * c^(1-2)
    assert polyrl.U == pytest.approx((4 * 1 + 13 + 4 * (1 / c)) / (8 * eps))
    # L = shrink * (b/i + (i-1)(i-2)/i^2 b c^-(i-1) + |B|^2/i^3) - g_old/(i-1)
    assert polyrl.L == pytest.approx(shrink * (0.5 + 0 + 13 / 8))
    assert polyrl.b == pytest.approx(1.5) and np.allclose(polyrl.C, [0.5, 0])
    polyrl.select_action(states[2], np.array([1.0, 1.0]), never_target)  # L <= dg <= U, C_theta > 0
    assert polyrl.i == 3

    polyrl.post_step(states[2], states[3])  # step (1, 0) after (1, 1)
    assert np.allclose(polyrl.B, [6, 2])
    assert polyrl.g == pytest.approx(0.25 + 3.25 / 3) and polyrl.dg == pytest.approx(0.25 + 3.25 / 3 - 0.5)
    assert polyrl.C_theta == pytest.approx(c)
    K = 1 * c**-2 + 2 * c**-1
    assert polyrl.U == pytest.approx((9 * 1.5 + 40 + 2 * 3 * 1.5 * K) / (27 * eps) - 0.25)
    assert polyrl.L == pytest.approx(shrink * (1.5 / 3 + 2 / 9 * 1.5 * c**-2 + 40 / 27) - 0.25)
    assert polyrl.b == pytest.approx(4 / 3) and np.allclose(polyrl.C, [1, 1 / 3]) and polyrl.t == 3


def test_leaving_the_bounds_hands_over_to_the_policy_and_resets_the_walk():
    polyrl = PolyRL("corridor-v1", obs_dim=2, action_dim=2, rng=np.random.default_rng(0))
    polyrl.pre_episode(10)
    polyrl.post_step(np.zeros(2), np.ones(2))
    polyrl.i, polyrl.dg, polyrl.U = 5, 2.0, 1.0  # dg above the upper bound
    action = polyrl.select_action(np.zeros(2), np.ones(2), lambda: np.array([0.5, -0.5]))
    assert np.allclose(action, [0.5, -0.5])
    assert polyrl.should_use_target_policy and polyrl.i == 1 and polyrl.U == 1


def test_degenerate_inputs_never_give_nan_actions():
    rng = np.random.default_rng(3)
    for action_dim in (1, 2):
        polyrl = PolyRL("corridor-v1", obs_dim=2, action_dim=action_dim, rng=np.random.default_rng(4))
        for episode in range(4):
            polyrl.pre_episode(episode)  # episode 0: epsilon = 0
            state, previous = np.zeros(2), np.zeros(action_dim)
            for step in range(60):
                action = polyrl.select_action(state, previous, lambda n=action_dim: rng.uniform(-1, 1, n))
                assert action.shape == (action_dim,)
                assert np.all(np.isfinite(action)) and np.all(np.abs(action) <= 1)
                # stuck against a wall every third step (zero-length steps), else a small move
                state2 = state if step % 3 == 0 else state + 0.01 * action.sum()
                polyrl.post_step(state, state2)
                assert not math.isnan(polyrl.L) and not math.isnan(polyrl.g)
                state, previous = state2, action


def test_state_dict_resumes_identically():
    def run(polyrl, steps):
        actions, state = [], np.zeros(2)
        for _ in range(steps):
            action = polyrl.select_action(state, np.ones(2), lambda: np.zeros(2))
            polyrl.post_step(state, state + action)
            state = state + action
            actions.append(action)
        return np.array(actions)

    polyrl = PolyRL("corridor-v1", obs_dim=2, action_dim=2, rng=np.random.default_rng(5))
    run(polyrl, 7)
    buffer = io.BytesIO()
    torch.save(polyrl.state_dict(), buffer)  # a checkpoint with the default safe loader
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    expected = run(polyrl, 10)
    other = PolyRL("corridor-v1", obs_dim=2, action_dim=2, rng=np.random.default_rng(99))
    other.load_state_dict(saved)
    assert np.array_equal(run(other, 10), expected)
