"""Conditional RealNVP (docs/method.md §1): affine couplings with alternating masks, each optionally followed by a
BatchNorm flow layer. Direct pass: action x -> latent z; inverse pass: z -> x. All log-determinants are (B,).
"""

import math
from typing import cast

import torch
from torch import nn

from sfp.priors.base import PriorModel
from sfp.priors.conditioners import ACTIVATIONS, condition_mlp, image_encoder, mlp

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class CouplingLayer(nn.Module):
    """y = x * exp(s) + t on the positions where mask == 0; s, t depend on x * mask and on the condition.

    `condition`: a network mapping the condition to (B, F) features, None to feed the raw condition (F = C),
    and cond_features = 0 for an unconditional layer.
    """

    mask: torch.Tensor  # buffers, registered in __init__
    free: torch.Tensor
    trunk: nn.Sequential | None
    scale_head: nn.Module  # nn.Linear with a shared trunk, else an MLP
    shift_head: nn.Module

    def __init__(
        self,
        mask: torch.Tensor,
        cond_features: int,
        condition: nn.Module | None,
        num_hidden: int,
        s_act: str,
        t_act: str,
        shared: bool,
    ):
        super().__init__()
        dim = len(mask)
        self.register_buffer("mask", mask.float(), persistent=False)
        self.register_buffer("free", 1.0 - mask.float(), persistent=False)
        self.condition = condition
        self.conditional = cond_features > 0
        width = dim + cond_features
        if shared:
            self.trunk = mlp([width, num_hidden, num_hidden], t_act, ACTIVATIONS[t_act])
            self.scale_head, self.shift_head = nn.Linear(num_hidden, dim), nn.Linear(num_hidden, dim)
        else:
            self.trunk = None
            self.scale_head = mlp([width, num_hidden, num_hidden, dim], s_act)
            self.shift_head = mlp([width, num_hidden, num_hidden, dim], t_act)

    def scale_shift(self, x: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """log-scale and shift (B, D), zero on the masked (pass-through) positions."""
        inputs = x * self.mask
        if self.conditional:
            assert cond is not None  # a conditional layer always gets a condition
            features = cond if self.condition is None else self.condition(cond)
            inputs = torch.cat([inputs, features], dim=-1)
        hidden = inputs if self.trunk is None else self.trunk(inputs)
        return self.scale_head(hidden) * self.free, self.shift_head(hidden) * self.free

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Direct pass: (y, log-det (B,))."""
        log_s, t = self.scale_shift(x, cond)
        return x * torch.exp(log_s) + t, log_s.sum(-1)

    def inverse(self, y: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        log_s, t = self.scale_shift(y, cond)
        return (y - t) * torch.exp(-log_s)


class BatchNormFlow(nn.Module):
    """Invertible batch normalisation. Training mode normalises with the batch statistics; evaluation mode with
    running statistics that the trainer sets to the statistics of the whole training set after every epoch
    (sfp.priors.batchnorm_stats). `running_var` includes eps, as the batch variance does."""

    running_mean: torch.Tensor  # buffers, registered in __init__
    running_var: torch.Tensor

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.log_gamma = nn.Parameter(torch.zeros(dim))
        self.beta = nn.Parameter(torch.zeros(dim))
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))
        self._batch_stats: tuple[torch.Tensor, torch.Tensor] | None = None

    def set_statistics(self, mean: torch.Tensor, var: torch.Tensor) -> None:
        """Running statistics from the (biased) variance of this layer's inputs."""
        self.running_mean.copy_(mean)
        self.running_var.copy_(var + self.eps)

    def _statistics(self, x: torch.Tensor, inverse: bool):
        if not self.training:
            return self.running_mean, self.running_var
        if not inverse:
            mean = x.mean(0)
            var = (x - mean).pow(2).mean(0) + self.eps
            self._batch_stats = (mean.detach(), var.detach())  # for an inverse pass in training mode
            return mean, var
        return self._batch_stats or (self.running_mean, self.running_var)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Direct pass: (y, log-det (B,))."""
        mean, var = self._statistics(x, inverse=False)
        log_det = (self.log_gamma - 0.5 * torch.log(var)).sum().expand(len(x))
        return torch.exp(self.log_gamma) * (x - mean) / torch.sqrt(var) + self.beta, log_det

    def inverse(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        mean, var = self._statistics(y, inverse=True)
        return (y - self.beta) * torch.exp(-self.log_gamma) * torch.sqrt(var) + mean


def alternating_masks(dim: int, num_blocks: int) -> list[torch.Tensor]:
    """[0,1,0,1,...] for the first block, flipped for every following one (even positions transform first)."""
    first = torch.arange(dim) % 2
    return [first if i % 2 == 0 else 1 - first for i in range(num_blocks)]


def orthogonal_init(module: nn.Module) -> None:
    """Orthogonal weights and zero biases for every Linear (convolutions keep PyTorch's default)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.orthogonal_(layer.weight)
            nn.init.zeros_(layer.bias)


class ConditionalRealNVP(PriorModel):
    """num_blocks couplings (each followed by BatchNormFlow when bn) over actions of size action_dim.

    cond_dim: width of a vector condition, 0 for an unconditional (one-step) flow; image=True expects
    (B, 3, 64, 64) conditions and gives every coupling its own CNN (pre_mlp is then required).
    """

    def __init__(
        self,
        action_dim: int,
        cond_dim: int,
        num_blocks: int = 6,
        num_hidden: int = 128,
        s_act: str = "relu",
        t_act: str = "relu",
        bn: bool = True,
        shared: bool = True,
        pre_mlp: bool = True,
        pre_mlp_units: int = 128,
        image: bool = False,
    ):
        super().__init__()
        self.action_dim = action_dim
        layers: list[nn.Module] = []
        for mask in alternating_masks(action_dim, num_blocks):
            if image:
                condition, features = image_encoder(pre_mlp_units), pre_mlp_units
            elif cond_dim and pre_mlp:
                condition, features = condition_mlp(cond_dim, pre_mlp_units, t_act), pre_mlp_units
            else:
                condition, features = None, cond_dim
            layers.append(CouplingLayer(mask, features, condition, num_hidden, s_act, t_act, shared))
            if bn:
                layers.append(BatchNormFlow(action_dim))
        self.layers = nn.ModuleList(layers)
        orthogonal_init(self)

    def to_latent(self, x: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Direct pass: actions (B, A) -> latents (B, A) and log|det dz/dx| (B,)."""
        log_det = x.new_zeros(len(x))
        for layer in self.layers:
            x, step = layer(x, cond)
            log_det = log_det + step
        return x, log_det

    def transform(self, z: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """Inverse pass: latents (B, A) -> actions (B, A)."""
        for layer in reversed(self.layers):
            z = cast(CouplingLayer | BatchNormFlow, layer).inverse(z, cond)  # torch types ModuleList items Module
        return z

    def log_prob(self, action: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        z, log_det = self.to_latent(action, cond)
        return (-0.5 * z.pow(2) - HALF_LOG_TWO_PI).sum(-1) + log_det

    def sample(self, cond: torch.Tensor | None, num: int) -> torch.Tensor:
        device = cast(CouplingLayer, self.layers[0]).mask.device
        return self.transform(torch.randn(num, self.action_dim, device=device), cond)
