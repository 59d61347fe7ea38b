"""MLP priors: a deterministic regressor, a Gaussian (in tanh pre-activation space) and a conditional VAE.

Shapes: action (B, A), cond (B, C).
"""

import math

import torch
from torch import nn

from sfp.priors.base import PriorModel
from sfp.priors.conditioners import mlp

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
ATANH_LIMIT = 0.999  # actions are clipped to this before atanh (dataset actions may exceed [-1, 1])
LOG_STD_RANGE = (-10.0, 2.0)


def gaussian_log_density(x: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Σ_dims log N(x; mu, exp(log_std)²), (B,)."""
    return (-0.5 * ((x - mu) * torch.exp(-log_std)).pow(2) - log_std - HALF_LOG_TWO_PI).sum(-1)


class Deterministic(PriorModel):
    """a = f(c): MLP C -> H -> H -> A with ReLU and a tanh output; trained on ½ mean squared error."""

    def __init__(self, action_dim: int, cond_dim: int, num_hidden: int = 128):
        super().__init__()
        self.net = mlp([cond_dim, num_hidden, num_hidden, action_dim], "relu", nn.Tanh)

    def loss(self, action, cond):
        return 0.5 * (self.net(cond) - action).pow(2).mean(-1)

    def sample(self, cond, num):
        return self.net(cond)


class Gaussian(PriorModel):
    """a = tanh(u), u ~ N(mu(c), exp(log_std(c))²): the prior of the KL-regularised baseline, fitted to the
    target action (the original fitted the condition). log_prob is the density of a, tanh change of variables
    included."""

    def __init__(self, action_dim: int, cond_dim: int, num_hidden: int = 128):
        super().__init__()
        self.trunk = mlp([cond_dim, num_hidden, num_hidden], "relu", nn.ReLU)
        self.mu_head, self.log_std_head = nn.Linear(num_hidden, action_dim), nn.Linear(num_hidden, action_dim)

    def gaussian(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-tanh mean and log-std, (B, A) each."""
        hidden = self.trunk(cond)
        return self.mu_head(hidden), self.log_std_head(hidden).clamp(*LOG_STD_RANGE)

    def log_prob(self, action, cond):
        mu, log_std = self.gaussian(cond)
        clipped = action.clamp(-ATANH_LIMIT, ATANH_LIMIT)
        pre_tanh = torch.atanh(clipped)
        return gaussian_log_density(pre_tanh, mu, log_std) - torch.log1p(-clipped.pow(2)).sum(-1)

    def sample(self, cond, num):
        mu, log_std = self.gaussian(cond)
        return torch.tanh(mu + torch.exp(log_std) * torch.randn_like(mu))


class ConditionalVAE(PriorModel):
    """Conditional VAE with a latent of size A: encoder q(z | a, c), decoder N(a; g(z, c), exp(log_std)²) with a
    learned state-independent log_std. loss = -ELBO; log_prob is a single-sample ELBO estimate (a lower bound on
    log p(a | c) in expectation)."""

    def __init__(self, action_dim: int, cond_dim: int, num_hidden: int = 128):
        super().__init__()
        self.latent_dim = action_dim
        self.encoder = mlp([action_dim + cond_dim, num_hidden, num_hidden, 2 * action_dim], "relu")
        self.decoder = mlp([action_dim + cond_dim, num_hidden, num_hidden, action_dim], "relu")
        self.log_std = nn.Parameter(torch.full((action_dim,), -1.0))

    def log_prob(self, action, cond):
        mu, log_var = self.encoder(torch.cat([action, cond], -1)).chunk(2, -1)
        log_var = log_var.clamp(-20.0, 10.0)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        mean = self.decoder(torch.cat([z, cond], -1))
        reconstruction = gaussian_log_density(action, mean, self.log_std.clamp(*LOG_STD_RANGE).expand_as(mean))
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)
        return reconstruction - kl

    def sample(self, cond, num):
        z = torch.randn(len(cond), self.latent_dim, device=cond.device)
        mean = self.decoder(torch.cat([z, cond], -1))
        return mean + torch.exp(self.log_std.clamp(*LOG_STD_RANGE)) * torch.randn_like(mean)
