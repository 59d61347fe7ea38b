"""Colored action noise (`--action_noise pink`): the spectrum, variance and independence of ε, its use by the
behaviour policy, uniform start_steps, and an exact resume mid-episode."""

import os
import signal

import numpy as np
import pytest
import torch
from test_rl_trainer import TINY, _progress

from sfp.errors import UserError
from sfp.rl.action_noise import EpisodeNoise
from sfp.rl.agent import SACAgent
from sfp.rl.params import RLParams, load_rl_params
from sfp.rl.run import run

LENGTH, EPISODES, DIMS = 512, 200, 3


def _sequences(beta: float) -> np.ndarray:
    """EPISODES episodes of LENGTH steps drawn one step at a time, as the trainer does: (EPISODES, DIMS, LENGTH)."""
    noise = EpisodeNoise(beta, DIMS, LENGTH, seed=0)
    episodes = []
    for _ in range(EPISODES):
        noise.reset()
        episodes.append(np.stack([noise.sample() for _ in range(LENGTH)], axis=-1))
    return np.stack(episodes)


def _spectrum_slope(x: np.ndarray) -> float:
    """Least-squares slope of log power against log frequency, power averaged over sequences and dimensions
    (DC left out)."""
    power = (np.abs(np.fft.rfft(x, axis=-1)) ** 2).mean(axis=(0, 1))[1:]
    frequency = np.fft.rfftfreq(x.shape[-1])[1:]
    return float(np.polyfit(np.log(frequency), np.log(power), 1)[0])


def _lag1(x: np.ndarray) -> float:
    return float(np.corrcoef(x[..., :-1].ravel(), x[..., 1:].ravel())[0, 1])


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_noise_has_the_power_law_spectrum_unit_variance_and_independent_dimensions(beta):
    x = _sequences(beta)
    assert x.dtype == np.float32
    assert _spectrum_slope(x) == pytest.approx(-beta, abs=0.1)
    per_step_variance = x.var(axis=(0, 1))  # over episodes and dimensions, at each step
    assert per_step_variance.mean() == pytest.approx(1.0, abs=0.05)
    assert np.all(np.abs(per_step_variance - 1.0) < 0.3)
    cross = [np.corrcoef(x[:, i].ravel(), x[:, j].ravel())[0, 1] for i, j in ((0, 1), (0, 2), (1, 2))]
    assert np.all(np.abs(cross) < 0.06), cross
    lag1 = _lag1(x)
    if beta == 0.0:
        assert abs(lag1) < 0.02  # white: no memory from step to step
    else:
        assert lag1 > 0.5  # pink and red: strongly correlated in time, unlike across dimensions


def test_each_reset_draws_new_sequences_and_the_state_restores_them():
    noise = EpisodeNoise(1.0, 2, 50, seed=3)
    noise.reset()
    first = [noise.sample() for _ in range(20)]
    state = noise.state_dict()
    rest = [noise.sample() for _ in range(30)]
    noise.reset()
    after_reset = noise.sample()
    copy = EpisodeNoise(1.0, 2, 50, seed=99)
    copy.load_state_dict(state)
    np.testing.assert_array_equal(np.stack([copy.sample() for _ in range(30)]), np.stack(rest))
    copy.reset()
    np.testing.assert_array_equal(copy.sample(), after_reset)
    assert not np.allclose(first[0], after_reset)


def test_the_policy_acts_with_the_given_noise():
    torch.manual_seed(0)
    agent = SACAgent(RLParams(hidden_units=8), obs_dim=3, act_dim=2)
    obs, eps = np.array([0.1, -0.2, 0.3], np.float32), np.array([1.5, -0.5], np.float32)
    action, _ = agent.act(obs, np.zeros(2, np.float32), noise=eps)
    with torch.no_grad():
        mu, log_std = agent.ac.actor(torch.as_tensor(obs)[None])
    np.testing.assert_allclose(action, torch.tanh(mu + log_std.exp() * torch.as_tensor(eps))[0].numpy(), rtol=1e-6)
    deterministic, _ = agent.act(obs, np.zeros(2, np.float32), deterministic=True, noise=eps)
    np.testing.assert_allclose(deterministic, torch.tanh(mu)[0].numpy(), rtol=1e-6)


def _run(argv):
    params, notes = load_rl_params(argv)
    return run(params, notes)


PINK = TINY + ["--action_noise", "pink"]


def test_pink_runs_keep_uniform_start_steps_then_act_with_correlated_noise():
    white = _run(TINY + ["--exp_name", "white"])
    pink = _run(PINK + ["--exp_name", "pink"])
    assert pink.noise.process.time_steps == 100  # the episode budget (max_ep_len 100)
    white_actions, pink_actions = (trainer.experiment.buffer.state_dict()["act"] for trainer in (white, pink))
    start = 60  # --start_steps
    np.testing.assert_array_equal(white_actions[:start], pink_actions[:start])  # uniform, the same draws
    assert not np.allclose(white_actions[start:], pink_actions[start:])
    assert _lag1(pink_actions[start:].T) > _lag1(white_actions[start:].T) + 0.2


def test_ctrl_c_mid_episode_with_pink_noise_resumes_exactly(monkeypatch):
    _run(PINK + ["--exp_name", "whole"])
    from sfp.rl import trainer as trainer_module

    original_step = trainer_module.Trainer._step

    def step_then_interrupt(self):
        original_step(self)
        if self.t == 210:  # mid-episode (episodes of 100 steps), after start_steps and updates have begun
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(trainer_module.Trainer, "_step", step_then_interrupt)
    interrupted = _run(PINK + ["--exp_name", "split"])
    assert not interrupted.finished and interrupted.t == 210
    monkeypatch.setattr(trainer_module.Trainer, "_step", original_step)
    _run(PINK + ["--exp_name", "split", "--resume", "True"])
    _, whole = _progress("whole")
    _, split = _progress("split")
    np.testing.assert_array_equal(whole, split)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--noise_beta", "2"], "add --action_noise pink"),
        (["--action_noise", "red"], "not one of white, pink"),
        (["--action_noise", "pink", "--noise_beta", "-1"], "below its minimum"),
    ],
)
def test_bad_noise_options_fail_in_one_line(argv, message):
    with pytest.raises(UserError, match=message):
        load_rl_params(argv)
