"""What a prior learned: real vs sampled (a_{t-1}, a_t) pairs per dimension, and statistics of autoregressive
rollouts of an action prior against the dataset's own action sequences.

Statistics of action sequences (R, T, A), clipped to [-1, 1] as the environment executes them:
  mean_abs        mean |a|
  mean_cosine     mean cosine between consecutive actions a_t, a_{t+1}
  lag1_autocorr   per dimension: Σ x_t x_{t+1} / Σ x_t², x = a - mean(a) (pooled over sequences)
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from sfp.data.dataset import ExpertData  # noqa: E402
from sfp.priors.base import PriorModel  # noqa: E402

ROLLOUTS = 64
ROLLOUT_STEPS = 200
PLOT_POINTS = 2000


def action_statistics(actions: np.ndarray) -> dict:
    """Statistics (see the module docstring) of action sequences (R, T, A)."""
    actions = np.clip(actions, -1.0, 1.0).astype(np.float64)
    norms = np.linalg.norm(actions, axis=-1)
    dots = (actions[:, 1:] * actions[:, :-1]).sum(-1)
    cosine = dots / np.maximum(norms[:, 1:] * norms[:, :-1], 1e-8)
    centred = actions - actions.mean(axis=(0, 1))
    autocorr = (centred[:, 1:] * centred[:, :-1]).sum(axis=(0, 1)) / np.maximum((centred**2).sum(axis=(0, 1)), 1e-12)
    return {
        "mean_abs": float(np.abs(actions).mean()),
        "mean_cosine": float(cosine.mean()),
        "lag1_autocorr": [float(value) for value in autocorr],
    }


def real_segments(
    data: ExpertData, trajectories: np.ndarray, n_step: int, steps: int = ROLLOUT_STEPS, count: int = ROLLOUTS
) -> tuple[np.ndarray, np.ndarray]:
    """Initial windows (R, n·A) and the actions that followed them (R, T, A), from trajectories long enough;
    T shrinks to the longest length available when no trajectory has n_step + steps rows."""
    lengths = data.bounds[trajectories + 1] - data.bounds[trajectories]
    steps = min(steps, int(lengths.max()) - n_step)
    starts = data.bounds[trajectories][lengths >= n_step + steps][:count]
    segments = data.actions[starts[:, None] + np.arange(n_step + steps)].astype(np.float32)
    return segments[:, :n_step].reshape(len(starts), -1), segments[:, n_step:]


@torch.no_grad()
def rollout(model: PriorModel, windows: torch.Tensor | None, steps: int, count: int) -> np.ndarray:
    """Autoregressive rollouts (R, T, A): each sample, clipped to [-1, 1], enters the window of the next step.
    windows (R, n·A) for an action prior, None for a one-step prior (i.i.d. draws). A non-finite sample (a far
    tail of a briefly trained flow overflows, about 1 in 1000 draws) becomes 0, as the RL mixture executes it
    (sfp.rl.mixture.MixturePrior.postprocess)."""
    actions = []
    for _ in range(steps):
        action = torch.nan_to_num(model.sample(windows, count), nan=0.0).clamp(-1.0, 1.0)
        actions.append(action)
        if windows is not None:
            windows = torch.cat([windows[:, action.shape[1] :], action], dim=1)
    return torch.stack(actions, dim=1).cpu().numpy()


def pair_plot(path, previous: np.ndarray, real: np.ndarray, sampled: np.ndarray) -> None:
    """Per action dimension, a scatter of (a_{t-1,d}, a_{t,d}): real pairs vs pairs with a sampled a_t. The view
    is the data's range plus a margin; the title counts the samples outside it."""
    dims = real.shape[1]
    low, high = real.min() - 0.5, real.max() + 0.5
    figure, axes = plt.subplots(1, dims, figsize=(3.2 * dims, 3.2), squeeze=False)
    for d, axis in enumerate(axes[0]):
        axis.scatter(previous[:, d], real[:, d], s=2, alpha=0.4, label="data")
        axis.scatter(previous[:, d], sampled[:, d], s=2, alpha=0.4, label="prior")
        axis.set_xlabel(f"a[t-1][{d}]")
        axis.set_ylabel(f"a[t][{d}]")
        axis.set_ylim(low, high)
        axis.set_title(f"{int(((sampled[:, d] < low) | (sampled[:, d] > high)).sum())} samples outside", fontsize=9)
    axes[0][0].legend(loc="best", markerscale=4)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


@torch.no_grad()
def action_prior_report(
    model: PriorModel, config: dict, data: ExpertData, val_trajectories: np.ndarray, directory, seed: int = 0
) -> dict:
    """Write pairs.png and return rollout statistics of prior and data, for 'action' and one-step priors."""
    torch.manual_seed(seed)
    model.eval()
    n_step, action_dim = config["n_step"], config["action_dim"]
    device = next(iter(model.state_dict().values())).device
    windows, real = real_segments(data, val_trajectories, n_step)
    count, steps = real.shape[:2]
    sequence = np.concatenate([windows.reshape(count, n_step, action_dim), real], axis=1)  # (R, n + T, A)
    before = sequence[:, np.arange(steps)[:, None] + np.arange(n_step)].reshape(count * steps, -1)  # (R·T, n·A)
    pick = np.random.default_rng(seed).permutation(count * steps)[:PLOT_POINTS]
    one_step = config["one_step"]
    conds = None if one_step else torch.from_numpy(before[pick]).to(device)
    sampled_pairs = model.sample(conds, len(pick)).cpu().numpy()
    pair_plot(directory / "pairs.png", before[pick, -action_dim:], real.reshape(-1, action_dim)[pick], sampled_pairs)
    start = None if one_step else torch.from_numpy(windows).to(device)
    rollouts = rollout(model, start, steps, count)
    return {
        "data": action_statistics(real),
        "prior": action_statistics(rollouts),
        "rollouts": int(count),
        "steps": int(steps),
    }
