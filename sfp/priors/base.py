"""The interface every prior model implements, so training, checkpoints and RL treat them alike.

Shapes: action (B, A); cond (B, C) for vector conditions, (B, 3, 64, 64) for images, None for one-step priors.
"""

import torch
from torch import nn

from sfp.errors import UserError


class PriorModel(nn.Module):
    """A conditional model of actions p(a | c) that can be trained by gradient descent and sampled."""

    def loss(self, action: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """Per-sample training objective (B,); its mean is minimised. For densities: -log p(a | c)."""
        return -self.log_prob(action, cond)

    def sample(self, cond: torch.Tensor | None, num: int) -> torch.Tensor:
        """Draw one action per row (B = num): (B, A)."""
        raise NotImplementedError

    def log_prob(self, action: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """log p(a | c), (B,)."""
        raise UserError(f"the {type(self).__name__} prior has no density; use a flow, gaussian, vae or lscde prior")
