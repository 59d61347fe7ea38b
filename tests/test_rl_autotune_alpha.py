"""Automatic entropy tuning (`--autotune_alpha True`): the loss by hand, α finding the entropy target on a bandit,
the logged columns, exact resume and the errors."""

import math

import numpy as np
import pytest
import torch
from test_rl_trainer import TINY, _progress

from sfp.errors import UserError
from sfp.rl import losses
from sfp.rl.agent import SACAgent
from sfp.rl.params import RLParams, load_rl_params, target_entropy_value
from sfp.rl.replay import ReplayBatch
from sfp.rl.run import run


def test_alpha_loss_and_its_gradient_by_hand():
    log_alpha = torch.tensor(math.log(0.5), requires_grad=True)
    logp = torch.tensor([1.0, 3.0], requires_grad=True)
    loss = losses.alpha_loss(log_alpha, logp, target_entropy=-1.0)  # mean(logp + target) = 1
    loss.backward()
    assert loss.item() == pytest.approx(-math.log(0.5))
    assert log_alpha.grad.item() == pytest.approx(-1.0)  # entropy -logp = -2 below the target -1: α rises
    assert logp.grad is None  # log π is detached


def test_target_entropy_auto_is_minus_the_action_dimensions():
    assert target_entropy_value("auto", 4) == -4.0
    assert target_entropy_value("-1.5", 4) == -1.5
    with pytest.raises(UserError, match="target_entropy"):
        target_entropy_value("low", 4)


def _bandit_agent(alpha0: float) -> tuple[SACAgent, float]:
    """One-step bandit r(a) = -a^2 (A = 1, every transition terminal), so Q(s, a) = -a^2. The soft-optimal policy
    is π*(a) ∝ exp(Q(a)/α) = N(0, α/2) (tanh is close to the identity there), of entropy ½ log(2πe α/2): the
    entropy equals the target H at α* = 2 exp(2H) / (2πe)."""
    torch.manual_seed(0)
    params = RLParams(autotune_alpha=True, alpha=alpha0, target_entropy="auto", hidden_units=16, lr=1e-2)
    agent = SACAgent(params, obs_dim=2, act_dim=1)
    batch_size = 64
    for _ in range(1000):
        obs = torch.rand(batch_size, 2) * 2 - 1
        act = torch.rand(batch_size, 1) * 2 - 1
        agent.update(
            ReplayBatch(
                obs=obs,
                obs2=obs,
                act=act,
                rew=-act.pow(2).sum(-1),
                done=torch.ones(batch_size),
                discount=torch.full((batch_size,), 0.99),
                window=torch.zeros(batch_size, 0),
                window2=torch.zeros(batch_size, 0),
                weights=torch.ones(batch_size),
            )
        )
    return agent, 2.0 * math.exp(2.0 * agent.target_entropy) / (2.0 * math.pi * math.e)


@pytest.mark.parametrize("alpha0", [0.1, 0.002])
def test_alpha_moves_to_where_the_policy_entropy_meets_the_target(alpha0):
    agent, alpha_star = _bandit_agent(alpha0)  # α* = 0.0159 for the target -1
    alpha = agent.alpha.item()
    assert (alpha < alpha0) if alpha0 > alpha_star else (alpha > alpha0)
    assert alpha_star / 1.3 < alpha < alpha_star * 1.3, (alpha, alpha_star)
    with torch.no_grad():
        logp = agent.ac.actor.sample(torch.rand(4096, 2) * 2 - 1)[1]
    assert -logp.mean().item() == pytest.approx(agent.target_entropy, abs=0.2)


def _run(argv):
    params, notes = load_rl_params(argv)
    return run(params, notes)


AUTO = TINY + ["--autotune_alpha", "True"]


def test_autotuned_alpha_is_logged_changes_and_resumes_exactly():
    _run(AUTO + ["--exp_name", "whole"])
    _run(AUTO + ["--exp_name", "split", "--epochs", "1"])
    _run(AUTO + ["--exp_name", "split", "--resume", "True"])
    header, whole = _progress("whole")
    _, split = _progress("split")
    np.testing.assert_array_equal(whole, split)
    alpha = whole[:, header.index("Alpha")]
    assert np.all(np.isfinite(alpha)) and alpha[0] != 0.2 and alpha[1] != alpha[0]
    assert np.all(np.isfinite(whole[:, header.index("LossAlpha")]))


def test_fixed_alpha_logs_its_value_and_no_alpha_loss():
    _run(TINY + ["--exp_name", "fixed"])
    header, rows = _progress("fixed")
    np.testing.assert_allclose(rows[:, header.index("Alpha")], 0.2, rtol=1e-6)
    assert np.all(np.isnan(rows[:, header.index("LossAlpha")]))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--target_entropy", "-2"], "add --autotune_alpha True"),
        (["--autotune_alpha", "True", "--target_entropy", "high"], "'auto'"),
        (["--autotune_alpha", "True", "--alpha", "0"], "must be positive"),
    ],
)
def test_bad_entropy_tuning_options_fail_in_one_line(argv, message):
    with pytest.raises(UserError, match=message):
        load_rl_params(argv)
