"""Networks of the SAC agent: squashed Gaussian actor, twin critics, the mixing weight λ, the image encoder.

Notation: B batch, F feature width (the observation width D, or 2304 CNN features in visual mode), A actions.
All networks read *features*: `ActorCritic.encoder` maps observations to features (identity for vectors, the shared
CNN for images). Initialisation is PyTorch's default except λ's output bias, which starts at logit(lambda_init).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from sfp.errors import UserError
from sfp.priors.conditioners import CONV_FEATURES, conv_layers

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
LAMBDA_HIDDEN = (128, 128)
HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
LOG_TWO = math.log(2.0)


def mlp(sizes: list[int], output_activation: nn.Module | None = None) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them (and `output_activation` after the last)."""
    layers: list[nn.Module] = []
    for i, (width_in, width_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(width_in, width_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if output_activation is not None:
        layers.append(output_activation)
    return nn.Sequential(*layers)


def gaussian_log_prob(u: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log N(u; mu, exp(log_std)) summed over the last dimension: (B,A) x3 -> (B,)."""
    z = (u - mu) * torch.exp(-log_std)
    return (-0.5 * z.pow(2) - log_std - HALF_LOG_TWO_PI).sum(-1)


def tanh_log_det(u: torch.Tensor) -> torch.Tensor:
    """log |d tanh(u)/du| summed over the last dimension, in a stable form: (B,A) -> (B,)."""
    return (2.0 * (LOG_TWO - u - F.softplus(-2.0 * u))).sum(-1)


def squashed_action_log_prob(
    action: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor, clip: float = 0.995
) -> torch.Tensor:
    """Log-likelihood of a given action under the pre-tanh Gaussian, WITHOUT the tanh correction (as the original's
    BC and SIL): log N(atanh(clip(a, ±clip)); mu, std). (B,A) -> (B,). Clipping keeps atanh finite."""
    return gaussian_log_prob(torch.atanh(action.clamp(-clip, clip)), mu, log_std)


class SquashedGaussianActor(nn.Module):
    """pi(a|s) = tanh(N(mu(s), std(s))): trunk [F, hidden..] -> heads mu, log_std (clamped to [-20, 2])."""

    def __init__(self, feature_dim: int, act_dim: int, hidden: list[int]):
        super().__init__()
        self.trunk = mlp([feature_dim, *hidden], output_activation=nn.ReLU())
        self.mu = nn.Linear(hidden[-1], act_dim)
        self.log_std = nn.Linear(hidden[-1], act_dim)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,F) -> (mu (B,A), log_std (B,A)) of the pre-tanh Gaussian."""
        hidden = self.trunk(features)
        return self.mu(hidden), self.log_std(hidden).clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, features: torch.Tensor, noise: torch.Tensor | None = None):
        """Reparameterised sample u = mu + std * noise, i.i.d. standard normal noise unless given (B,A):
        (B,F) -> (action (B,A), logp (B,), mu (B,A), log_std (B,A))."""
        mu, log_std = self(features)
        u = mu + (torch.randn_like(mu) if noise is None else noise) * torch.exp(log_std)
        logp = gaussian_log_prob(u, mu, log_std) - tanh_log_det(u)
        return torch.tanh(u), logp, mu, log_std


class TwinCritic(nn.Module):
    """Two independent Q networks on [features, action]: (B,F),(B,A) -> (q1 (B,), q2 (B,))."""

    def __init__(self, feature_dim: int, act_dim: int, hidden: list[int]):
        super().__init__()
        self.q1 = mlp([feature_dim + act_dim, *hidden, 1])
        self.q2 = mlp([feature_dim + act_dim, *hidden, 1])

    def forward(self, features: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([features, action], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)


def logit(p: float) -> float:
    if not 0.0 < p < 1.0:
        raise UserError(f"--lambda_init {p} must lie strictly between 0 and 1 (e.g. 0.95)")
    return math.log(p / (1.0 - p))


class LambdaNet(nn.Module):
    """State-dependent mixing weight λ(s) = sigmoid(MLP(s)), widths F -> 128 -> 128 -> 1: (B,F) -> (B,)."""

    def __init__(self, feature_dim: int, lambda_init: float):
        super().__init__()
        self.net = mlp([feature_dim, *LAMBDA_HIDDEN, 1])
        output = self.net[-1]
        assert isinstance(output, nn.Linear)  # mlp ends with a Linear layer
        with torch.no_grad():
            output.bias.fill_(logit(lambda_init))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(features)).squeeze(-1)


class LambdaScalar(nn.Module):
    """State-independent λ = sigmoid(θ), one registered parameter θ = logit(lambda_init): (B,F) -> (B,)."""

    def __init__(self, lambda_init: float):
        super().__init__()
        self.logit = nn.Parameter(torch.tensor(logit(lambda_init)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logit).expand(features.shape[0])


class ConvEncoder(nn.Module):
    """(B,3,64,64) images in [0,1] -> (B,2304) features: three 3x3 convolutions (16 channels), two 2x2 max-pools."""

    feature_dim = CONV_FEATURES

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(*conv_layers())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class ActorCritic(nn.Module):
    """Encoder (identity, or one CNN shared by all heads) + actor + twin critics + λ.

    obs_dim: D for vector observations, None for (3,64,64) images.
    """

    def __init__(
        self,
        obs_dim: int | None,
        act_dim: int,
        hidden_units: int = 256,
        hidden_layers: int = 2,
        lambda_init: float = 0.95,
        lambda_param: bool = False,
    ):
        super().__init__()
        if hidden_units < 1 or hidden_layers < 1:
            raise UserError(f"--hid {hidden_units} and --l {hidden_layers} must both be at least 1")
        self.encoder = nn.Identity() if obs_dim is not None else ConvEncoder()
        feature_dim = obs_dim if obs_dim is not None else ConvEncoder.feature_dim
        hidden = [hidden_units] * hidden_layers
        self.actor = SquashedGaussianActor(feature_dim, act_dim, hidden)
        self.critics = TwinCritic(feature_dim, act_dim, hidden)
        self.lam = LambdaScalar(lambda_init) if lambda_param else LambdaNet(feature_dim, lambda_init)

    @property
    def visual(self) -> bool:
        return isinstance(self.encoder, ConvEncoder)

    def critic_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by the critic loss: the critics and (visual) the shared encoder."""
        return list(self.critics.parameters()) + list(self.encoder.parameters())
