"""Least-squares conditional density estimation (Sugiyama et al., AISTATS 2010), with a sampler.

With Gaussian kernels φ_l(x, y) = exp(-|x - u_l|² / 2σ²) exp(-|y - v_l|² / 2σ²) around b centres (u_l, v_l)
drawn from the training pairs, LSCDE fits p(y | x) ∝ Σ_l α_l φ_l(x, y) by the closed-form least-squares
solution α = max(0, (H + λI)^-1 h). Normalised in y this is a Gaussian mixture: weights ∝ α_l exp(-|x - u_l|² /
2σ²), means v_l, isotropic std σ, so it has an exact log-density and an exact sampler. x and y are standardised
with the training statistics; σ and λ are chosen on the validation set. Shapes: action y (B, A), cond x (B, C).
"""

import math
from typing import Any

import torch

from sfp.errors import UserError
from sfp.priors.base import PriorModel

SIGMAS = (0.05, 0.1, 0.2, 0.4, 0.8)
RIDGES = (1e-3, 1e-2, 1e-1)
FIT_ROWS = 100_000
SELECT_ROWS = 20_000
CHUNK = 65_536


class LSCDE(PriorModel):
    """The fitted mixture; all parameters are buffers (set by `fit_lscde`)."""

    x_centres: torch.Tensor  # the buffers, registered in __init__
    y_centres: torch.Tensor
    log_alpha: torch.Tensor
    sigma: torch.Tensor
    x_mean: torch.Tensor
    x_std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor

    def __init__(self, action_dim: int, cond_dim: int, num_kernels: int = 500):
        super().__init__()
        self.register_buffer("x_centres", torch.zeros(num_kernels, cond_dim))
        self.register_buffer("y_centres", torch.zeros(num_kernels, action_dim))
        self.register_buffer("log_alpha", torch.zeros(num_kernels))
        self.register_buffer("sigma", torch.ones(()))
        self.register_buffer("x_mean", torch.zeros(cond_dim))
        self.register_buffer("x_std", torch.ones(cond_dim))
        self.register_buffer("y_mean", torch.zeros(action_dim))
        self.register_buffer("y_std", torch.ones(action_dim))

    def log_weights(self, cond: torch.Tensor) -> torch.Tensor:
        """Normalised log mixture weights (B, b)."""
        x = (cond - self.x_mean) / self.x_std
        logits = self.log_alpha - torch.cdist(x, self.x_centres).pow(2) / (2 * self.sigma**2)
        return torch.log_softmax(logits, -1)

    def log_prob(self, action, cond):
        y = (action - self.y_mean) / self.y_std
        dim = y.shape[-1]
        log_kernel = -torch.cdist(y, self.y_centres).pow(2) / (2 * self.sigma**2) - dim * (
            torch.log(self.sigma) + 0.5 * math.log(2 * math.pi)
        )
        return torch.logsumexp(self.log_weights(cond) + log_kernel, -1) - torch.log(self.y_std).sum()

    def sample(self, cond, num):
        component = torch.distributions.Categorical(logits=self.log_weights(cond)).sample()
        y = self.y_centres[component] + self.sigma * torch.randn_like(self.y_centres[component])
        return y * self.y_std + self.y_mean


def _squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.cdist(a, b).pow(2)


def _solve(x: torch.Tensor, y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, sigma: float):
    """H (b, b) and h (b,) of the least-squares criterion on standardised float64 data."""
    kx = torch.exp(-_squared_distances(x, u) / (2 * sigma**2))
    ky = torch.exp(-_squared_distances(y, v) / (2 * sigma**2))
    h = (kx * ky).mean(0)
    y_overlap = (math.pi * sigma**2) ** (y.shape[1] / 2) * torch.exp(-_squared_distances(v, v) / (4 * sigma**2))
    return (kx.T @ kx) / len(x) * y_overlap, h


def _mean_nll(model: LSCDE, actions: torch.Tensor, conds: torch.Tensor) -> float:
    total = sum(
        -model.log_prob(actions[i : i + CHUNK], conds[i : i + CHUNK]).sum().item()
        for i in range(0, len(actions), CHUNK)
    )
    return total / len(actions)


@torch.no_grad()
def fit_lscde(
    model: LSCDE,
    actions: torch.Tensor,
    conds: torch.Tensor,
    val_actions: torch.Tensor,
    val_conds: torch.Tensor,
    generator: torch.Generator,
) -> dict:
    """Fit `model` in place on (N, A) actions and (N, C) conditions; choose σ and λ by validation NLL.
    Returns {"sigma", "ridge", "val_nll"}."""
    num_kernels = len(model.log_alpha)
    model.x_mean.copy_(conds.mean(0))
    model.x_std.copy_(conds.std(0).clamp_min(1e-6))
    model.y_mean.copy_(actions.mean(0))
    model.y_std.copy_(actions.std(0).clamp_min(1e-6))
    rows = torch.randperm(len(actions), generator=generator)
    centres, fit_rows = rows[:num_kernels], rows[:FIT_ROWS]
    x = ((conds[fit_rows] - model.x_mean) / model.x_std).double()
    y = ((actions[fit_rows] - model.y_mean) / model.y_std).double()
    u, v = x[: len(centres)], y[: len(centres)]
    model.x_centres.copy_(u)
    model.y_centres.copy_(v)
    select = torch.randperm(len(val_actions), generator=generator)[:SELECT_ROWS]
    best: dict[str, Any] = {"val_nll": math.inf}
    for sigma in SIGMAS:
        big_h, small_h = _solve(x, y, u, v, sigma)
        identity = torch.eye(len(u), dtype=big_h.dtype, device=big_h.device)
        for ridge in RIDGES:
            alpha = torch.linalg.solve(big_h + ridge * identity, small_h).clamp_min(0)
            if alpha.max() <= 0:
                continue
            model.sigma.fill_(sigma)
            model.log_alpha.copy_(torch.log(alpha.clamp_min(1e-10 * alpha.max())))
            nll = _mean_nll(model, val_actions[select], val_conds[select])
            if nll < best["val_nll"]:
                best = {"sigma": sigma, "ridge": ridge, "val_nll": nll, "log_alpha": model.log_alpha.clone()}
    if "log_alpha" not in best:
        raise UserError("LSCDE found no positive solution: the dataset is degenerate (check it, or use --model flow)")
    model.sigma.fill_(best["sigma"])
    model.log_alpha.copy_(best.pop("log_alpha"))
    best["val_nll"] = _mean_nll(model, val_actions, val_conds)
    return best
