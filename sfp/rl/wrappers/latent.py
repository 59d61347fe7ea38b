"""From an agent action to an environment action through a flow prior (PARROT).

The agent acts in the inner env's Box [low, high]. PARROT maps it to a latent of the flow with the quantile trick
    u = m + (1 - 2m) (a - low) / (high - low) in [m, 1 - m],   z = Phi^-1(u)  (m = 0.05, so |z| <= 1.645)
and the flow maps the latent to an action: Prior.transform(z (B,A), cond) -> (B,A), clipped to the env's bounds.
"""

import numpy as np
import torch
from scipy.special import ndtri

MARGIN = 0.05


def uniform_to_gaussian(action: np.ndarray, low: np.ndarray, high: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """(A,) agent action -> (A,) float32 standard-normal latent. The action is first clipped to [low, high]
    (a policy action outside the box would otherwise give a NaN quantile)."""
    action = np.clip(np.asarray(action, dtype=np.float64), low, high)
    uniform = margin + (1.0 - 2.0 * margin) * (action - low) / (high - low)
    return ndtri(uniform).astype(np.float32)


def decode_latent(
    prior,
    latent: np.ndarray,
    condition: np.ndarray | None,
    low: np.ndarray,
    high: np.ndarray,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """(A,) latent and one condition ((C,), (3,64,64) or None) -> (A,) float32 env action in [low, high]
    (NaN becomes 0 before the clip, +-inf the bound)."""
    z = torch.as_tensor(latent, dtype=torch.float32, device=device).reshape(1, -1)
    cond = None if condition is None else torch.as_tensor(condition, dtype=torch.float32, device=device)[None]
    with torch.no_grad():
        action = prior.transform(z, cond)[0].detach().cpu().numpy()
    return np.clip(np.nan_to_num(action), low, high).astype(np.float32)
