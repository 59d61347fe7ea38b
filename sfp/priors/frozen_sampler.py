"""A fast, inference-only sampler for a frozen conditional RealNVP (the RL loop draws from the prior every step).

It computes exactly what `ConditionalRealNVP.transform` computes in eval mode, with fewer and larger operations:
- the condition pre-MLPs of all coupling layers run together (one matmul, then batched matmuls), and so does the
  condition's share of every coupling's first trunk layer;
- the pass-through mask is folded into the first trunk weights, the free-position mask into the heads, and the
  scale and shift heads are one matmul;
- each BatchNorm inverse is one precomputed affine map.
It covers shared s/t trunks with a vector condition (with or without pre-MLP) or none; `supports` says when.
"""

from typing import Any, TypeGuard, cast

import torch
from torch import nn

from sfp.priors.realnvp import BatchNormFlow, ConditionalRealNVP, CouplingLayer

FUNCTIONS = {nn.ReLU: torch.relu, nn.Tanh: torch.tanh, nn.Sigmoid: torch.sigmoid}


def supports(model: nn.Module) -> TypeGuard[ConditionalRealNVP]:
    if not isinstance(model, ConditionalRealNVP):
        return False
    couplings = [layer for layer in model.layers if isinstance(layer, CouplingLayer)]
    return all(
        layer.trunk is not None
        and (layer.condition is None or isinstance(layer.condition, nn.Sequential) and len(layer.condition) == 5)
        for layer in couplings
    )


def _activation(sequential: nn.Sequential):
    return FUNCTIONS[type(next(m for m in sequential if not isinstance(m, nn.Linear)))]


def _linear(module: nn.Module | None, index: int | None = None) -> nn.Linear:
    """`module`, or item `index` of the Sequential `module`, as the nn.Linear that `supports` and the layer's
    construction make it (torch types container items and submodule attributes as plain Module)."""
    return cast(nn.Linear, module if index is None else cast(nn.Sequential, module)[index])


class FrozenRealNVPSampler:
    """Built once from a model in eval mode (its weights are copied; later changes to the model are not seen)."""

    @torch.no_grad()
    def __init__(self, model: ConditionalRealNVP):
        if not supports(model):
            raise ValueError("this RealNVP architecture has no fused sampler; use model.transform")
        couplings = [layer for layer in model.layers if isinstance(layer, CouplingLayer)]
        self.dim, self.device = len(couplings[0].mask), couplings[0].mask.device
        self.conditional = couplings[0].conditional
        self.pre_mlp = couplings[0].condition is not None
        self.act = _activation(cast(nn.Sequential, couplings[0].trunk))
        # condition features of every coupling at once: (C) -> (L, B, U) -> trunk condition term (L, B, H)
        if self.pre_mlp:
            first, second, third = ([_linear(layer.condition, i) for layer in couplings] for i in (0, 2, 4))
            self.cond_w1 = torch.cat([linear.weight for linear in first]).T.contiguous()  # (C, L*U)
            self.cond_b1 = torch.cat([linear.bias for linear in first])
            self.cond_w2 = torch.stack([linear.weight.T for linear in second])  # (L, U, U)
            self.cond_b2 = torch.stack([linear.bias for linear in second])[:, None]
            self.cond_w3 = torch.stack([linear.weight.T for linear in third])
            self.cond_b3 = torch.stack([linear.bias for linear in third])[:, None]
            self.units = first[0].out_features
        trunk_in = [_linear(layer.trunk, 0) for layer in couplings]
        self.feature_w = torch.stack([linear.weight[:, self.dim :].T for linear in trunk_in])  # (L, F, H)
        self.trunk_b1 = torch.stack([linear.bias for linear in trunk_in])[:, None]  # (L, 1, H)
        # in inverse order: ("bn", scale, offset) or ("coupling", index, w_in, w_hidden, ...)
        self.blocks: list[tuple[Any, ...]] = []
        for layer in reversed(model.layers):
            if isinstance(layer, BatchNormFlow):
                scale = torch.exp(-layer.log_gamma) * torch.sqrt(layer.running_var)
                self.blocks.append(("bn", scale, layer.running_mean - layer.beta * scale))
            else:
                assert isinstance(layer, CouplingLayer)  # supports(): a coupling when not a BatchNormFlow
                i = couplings.index(layer)
                w_in = (_linear(layer.trunk, 0).weight[:, : self.dim] * layer.mask).T.contiguous()  # (D, H)
                hidden = _linear(layer.trunk, 2)
                free = layer.free[:, None]
                scale_head, shift_head = _linear(layer.scale_head), _linear(layer.shift_head)  # shared trunk: Linear
                heads_w = torch.cat([scale_head.weight * free, shift_head.weight * free]).T.contiguous()
                heads_b = torch.cat([scale_head.bias * layer.free, shift_head.bias * layer.free])
                self.blocks.append(("coupling", i, w_in, hidden.weight.T.contiguous(), hidden.bias, heads_w, heads_b))

    def _condition_terms(self, cond: torch.Tensor | None, batch: int) -> torch.Tensor:
        """The condition's share of every coupling's first trunk layer, plus its bias: (L, B, H)."""
        if not self.conditional:
            return self.trunk_b1.expand(-1, batch, -1)
        assert cond is not None  # a conditional flow is always sampled with a condition
        if self.pre_mlp:
            layers = len(self.cond_w2)
            h = self.act(torch.addmm(self.cond_b1, cond, self.cond_w1)).view(batch, layers, self.units)
            h = self.act(torch.baddbmm(self.cond_b2, h.transpose(0, 1), self.cond_w2))
            features = torch.baddbmm(self.cond_b3, h, self.cond_w3)  # no activation after the pre-MLP
        else:
            features = cond.expand(len(self.feature_w), -1, -1)
        return torch.baddbmm(self.trunk_b1, features, self.feature_w)

    @torch.no_grad()
    def transform(self, z: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """Latents (B, A) -> actions (B, A), equal to the model's eval-mode inverse pass."""
        terms = self._condition_terms(cond, len(z))
        for block in self.blocks:
            if block[0] == "bn":
                z = torch.addcmul(block[2], z, block[1])
                continue
            _, i, w_in, w_hidden, b_hidden, heads_w, heads_b = block
            h = self.act(torch.addmm(terms[i], z, w_in))
            h = self.act(torch.addmm(b_hidden, h, w_hidden))
            log_s, shift = torch.addmm(heads_b, h, heads_w).split(self.dim, dim=-1)
            z = (z - shift) * torch.exp(-log_s)
        return z
