"""The agent's pure loss functions against hand-computed values, and the squashed Gaussian's log-density."""

import math

import pytest
import torch

from sfp.rl import losses
from sfp.rl.networks import (
    SquashedGaussianActor,
    gaussian_log_prob,
    squashed_action_log_prob,
    tanh_log_det,
)

torch.set_num_threads(1)


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_critic_target_by_hand():
    y = losses.critic_target(
        rew=t(1.0, 0.0), discount=t(0.9, 0.5), done=t(0.0, 1.0), q_next=t(2.0, 3.0), regulariser=t(0.5, 1.0)
    )
    assert torch.allclose(y, t(1.0 + 0.9 * 1.5, 0.0))


def test_critic_loss_and_priorities_by_hand():
    q1, q2, y, w = t(1.0, 2.0), t(0.0, 2.0), t(1.0, 1.0), t(1.0, 2.0)
    # mean(w (q1-y)^2) = mean(0, 2) = 1; mean(w (q2-y)^2) = mean(1, 2) = 1.5
    assert losses.critic_loss(q1, q2, y, w).item() == pytest.approx(2.5)
    assert torch.allclose(losses.td_priorities(q1, q2, y), t(0.5, 1.0))


def test_actor_loss_per_state_and_batch_mean_by_hand():
    reg, q, lam, w = t(1.0, 2.0), t(4.0, 8.0), t(0.5, 1.0), t(1.0, 1.0)
    # per state: mean(1 - 0.5*4, 2 - 0*8) = mean(-1, 2) = 0.5
    assert losses.actor_loss(reg, q, 1 - lam, w).item() == pytest.approx(0.5)
    # batch mean: mean(reg) - mean(1-λ) mean(q) = 1.5 - 0.25*6 = 0
    assert losses.actor_loss(reg, q, 1 - lam, w, batch_mean=True).item() == pytest.approx(0.0)


def test_batch_mean_variants_equal_the_original_broadcast():
    gen = torch.Generator().manual_seed(0)
    reg, q, w, q_prior = (torch.randn(7, generator=gen) for _ in range(4))
    lam = torch.rand(7, generator=gen)
    broadcast_actor = (w * (reg - (1 - lam[:, None]) * q)).mean()  # (B,1) x (B,) -> (B,B), as the original
    assert losses.actor_loss(reg, q, 1 - lam, w, batch_mean=True).item() == pytest.approx(broadcast_actor.item())
    broadcast_lambda = (1e-3 * (-lam[:, None] * (0.3 + q_prior - q))).mean()
    assert losses.lambda_loss(lam, q_prior, q, 0.3, 1e-3, batch_mean=True).item() == pytest.approx(
        broadcast_lambda.item()
    )


def test_lambda_loss_by_hand():
    lam, q_prior, q_pi = t(0.2, 0.8), t(3.0, 1.0), t(1.0, 2.0)
    # advantage = 0.5 + (2, -1) = (2.5, -0.5); per state: mean(-2*0.2*2.5, -2*0.8*-0.5) = mean(-1, 0.8) = -0.1
    assert losses.lambda_loss(lam, q_prior, q_pi, bonus=0.5, scale=2.0).item() == pytest.approx(-0.1)
    # batch mean: -2 * 0.5 * 1.0
    assert losses.lambda_loss(lam, q_prior, q_pi, 0.5, 2.0, batch_mean=True).item() == pytest.approx(-1.0)


def test_lambda_loss_gradient_raises_lambda_where_prior_is_better():
    lam = t(0.5, 0.5).requires_grad_()
    losses.lambda_loss(lam, q_prior=t(2.0, 0.0), q_policy=t(1.0, 1.0), bonus=0.0, scale=1.0).backward()
    assert lam.grad[0] < 0 < lam.grad[1]  # gradient descent raises λ_0, lowers λ_1


def test_gaussian_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(1)
    mu, log_std, mu_p, log_std_p = (torch.randn(5, 3, generator=gen, dtype=torch.float64) for _ in range(4))
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, log_std.exp()), torch.distributions.Normal(mu_p, log_std_p.exp())
    ).sum(-1)
    assert torch.allclose(losses.gaussian_kl(mu, log_std, mu_p, log_std_p), expected)
    assert torch.allclose(losses.gaussian_kl(mu, log_std, mu, log_std), torch.zeros(5, dtype=torch.float64))


def test_sil_losses_by_hand():
    q1, q2, ret, w = t(1.0, 3.0), t(2.0, 0.0), t(2.0, 2.0), t(1.0, 1.0)
    # max(0, R-q1) = (1, 0) -> mean(0.5, 0) = 0.25; max(0, R-q2) = (0, 2) -> mean(0, 2) = 1
    assert losses.sil_value_loss(q1, q2, ret, w).item() == pytest.approx(1.25)
    advantage = losses.sil_advantage(q1, q2, ret)
    assert torch.allclose(advantage, t(1.0, 2.0))
    # log-probability clipped to -20: mean(20*1, -1*2) = 9
    assert losses.sil_policy_loss(t(-30.0, 1.0), advantage, w).item() == pytest.approx(9.0)


def test_behaviour_cloning_loss_is_negative_mean_log_likelihood():
    assert losses.behaviour_cloning_loss(t(-1.0, -3.0)).item() == pytest.approx(2.0)


def test_gaussian_log_prob_matches_torch():
    gen = torch.Generator().manual_seed(2)
    u, mu, log_std = (torch.randn(4, 3, generator=gen, dtype=torch.float64) for _ in range(3))
    expected = torch.distributions.Normal(mu, log_std.exp()).log_prob(u).sum(-1)
    assert torch.allclose(gaussian_log_prob(u, mu, log_std), expected)


def test_squashed_log_prob_matches_numerical_change_of_variables():
    """log p(a) = log p_u(u) - log |tanh'(u)| with the derivative taken numerically, for a = tanh(u)."""
    u = torch.linspace(-4.0, 4.0, 17, dtype=torch.float64)[:, None]
    mu, log_std = torch.full_like(u, 0.3), torch.full_like(u, -0.2)
    h = 1e-6
    numerical_derivative = (torch.tanh(u + h) - torch.tanh(u - h)) / (2 * h)
    expected = gaussian_log_prob(u, mu, log_std) - torch.log(numerical_derivative).sum(-1)
    actual = gaussian_log_prob(u, mu, log_std) - tanh_log_det(u)
    assert torch.allclose(actual, expected, atol=1e-6)


def test_squashed_density_integrates_to_one():
    """The actor's log-density of a = tanh(u) integrates to 1 over (-1, 1) (1-D, trapezoid rule)."""
    a = torch.linspace(-1 + 1e-7, 1 - 1e-7, 200001, dtype=torch.float64)[:, None]
    u = torch.atanh(a)
    log_density = gaussian_log_prob(u, torch.full_like(u, 0.5), torch.full_like(u, -0.5)) - tanh_log_det(u)
    assert torch.trapezoid(log_density.exp(), a[:, 0]).item() == pytest.approx(1.0, abs=1e-4)


def test_actor_sample_log_prob_is_consistent_with_its_action():
    torch.manual_seed(3)
    actor = SquashedGaussianActor(feature_dim=4, act_dim=2, hidden=[8]).double()
    features = torch.randn(6, 4, dtype=torch.float64)
    action, logp, mu, log_std = actor.sample(features)
    assert action.shape == (6, 2) and logp.shape == (6,) and action.abs().max() < 1
    u = torch.atanh(action)
    assert torch.allclose(logp, gaussian_log_prob(u, mu, log_std) - tanh_log_det(u), atol=1e-6)
    # the action likelihood used by BC/SIL is the same Gaussian term without the tanh correction
    assert torch.allclose(squashed_action_log_prob(action, mu, log_std), gaussian_log_prob(u, mu, log_std), atol=1e-6)
    assert math.isfinite(squashed_action_log_prob(torch.ones(1, 2, dtype=torch.float64), mu[:1], log_std[:1]).item())
