"""Synthetic expert data with the statistics of the maze expert: unit-direction actions plus small noise that keep
their direction for `segment` steps. Used by the tests and scripts/bench_prior.py."""

import numpy as np


def persistent_action_arrays(
    num_trajectories: int, length: int, action_dim: int = 2, segment: int = 61, noise: float = 0.05, seed: int = 0
) -> dict[str, np.ndarray]:
    """Arrays for sfp.data.dataset.write_dataset: num_trajectories × length rows, observations (N, action_dim) = the
    integrated path, goals (N, action_dim) = where the current direction points 5 units ahead."""
    rng = np.random.default_rng(seed)
    segments_per_trajectory = -(-length // segment)
    directions = rng.normal(size=(num_trajectories, segments_per_trajectory, action_dim))
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    heading = np.repeat(directions, segment, axis=1)[:, :length]  # (E, L, A)
    actions = heading + noise * rng.normal(size=heading.shape)
    positions = np.cumsum(actions, axis=1) - actions  # the state at which each action is taken
    rows = num_trajectories * length
    timeouts = np.zeros((num_trajectories, length), bool)
    timeouts[:, -1] = True
    return {
        "observations": positions.reshape(rows, action_dim),
        "actions": actions.reshape(rows, action_dim),
        "goals": (positions + 5 * heading).reshape(rows, action_dim),
        "rewards": np.zeros(rows),
        "terminals": np.zeros(rows, bool),
        "timeouts": timeouts.reshape(rows),
    }


def write_persistent_dataset(
    path, num_trajectories: int, length: int, action_dim: int = 2, images: bool = False, seed: int = 0
):
    """Write persistent_action_arrays to `path` (optionally with random 3×64×64 frames); returns the path."""
    from sfp.data.dataset import IMAGE_SHAPE, write_dataset

    arrays = persistent_action_arrays(num_trajectories, length, action_dim, seed=seed)
    frames = None
    if images:
        frames = np.random.default_rng(seed).integers(
            0, 256, size=(len(arrays["actions"]), *IMAGE_SHAPE), dtype=np.uint8
        )
    return write_dataset(path, arrays, images=frames)
