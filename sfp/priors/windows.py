"""(target action, condition) samples cut from expert trajectories; windows never cross a trajectory boundary.

For the row t of a trajectory (actions a, observations s, goals g), the target is a_t and the condition is
  action        [a_{t-n}, ..., a_{t-1}]                       (n·A,)  oldest first: the state-free prior
  action+state  [a_{t-n}, ..., a_{t-1}, s_t, g_t]             (n·A + S + G,)  what the RL agent passes
  state         [s_{t-n+1}, ..., s_t]                          (n·S,)
  state+goal    [s_{t-n+1}, g_{t-n+1}, ..., s_t, g_t]          (n·(S+G),)
  image         frame t, streamed from the file                (3, 64, 64) in [0, 1]
  one-step      none (the unconditional density of single actions)
All windows are built with vectorised index arithmetic on the concatenated arrays.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sfp.data.dataset import IMAGE_SHAPE, ExpertData
from sfp.errors import UserError

MODES = ("action", "state", "state+goal", "action+state", "image")
VALIDATION_FRACTION = 0.1
DEBUG_TRAJECTORIES = 10


def first_window_offset(mode: str, n_step: int, one_step: bool) -> int:
    """How many rows of a trajectory precede its first target."""
    if one_step:
        return 0
    return n_step if "action" in mode else n_step - 1


def window_rows(starts: np.ndarray, ends: np.ndarray, offset: int) -> np.ndarray:
    """Target rows (N,) of the trajectories [starts[i], ends[i]): every t with starts[i] + offset <= t < ends[i]."""
    lengths = np.clip(ends - starts - offset, 0, None)
    before = np.cumsum(lengths) - lengths
    return np.repeat(starts + offset - before, lengths) + np.arange(lengths.sum())


def stacked(array: np.ndarray, rows: np.ndarray, first: int, n: int) -> np.ndarray:
    """array rows t+first .. t+first+n-1 for every t in rows, flattened oldest first: (N, n·D)."""
    return array[rows[:, None] + first + np.arange(n)].reshape(len(rows), -1)


def conditions(data: ExpertData, mode: str, n_step: int, rows: np.ndarray) -> np.ndarray:
    """Condition vectors (N, C) float32 of the target rows for a vector mode."""
    if mode == "action":
        return stacked(data.actions, rows, -n_step, n_step)
    if mode == "action+state":
        return np.concatenate(
            [stacked(data.actions, rows, -n_step, n_step), data.observations[rows], data.goals[rows]], axis=1
        )
    if mode == "state":
        return stacked(data.observations, rows, 1 - n_step, n_step)
    per_step = np.concatenate([data.observations, data.goals], axis=1)
    return stacked(per_step, rows, 1 - n_step, n_step)


def check_mode(data: ExpertData, mode: str) -> None:
    """UserError when the dataset cannot serve `mode`."""
    if "goal" in mode or mode == "action+state":
        if data.goals.ndim != 2 or data.goals.shape[1] == 0:
            raise UserError(f"{data.path} has no goals, so it cannot serve --mode {mode}; use --mode action or state")
    if mode == "image" and data.images is None:
        raise UserError(f"{data.path} has no images; collect with images and distill again, or use another --mode")


@dataclass
class SampleSet:
    """Targets (N, A) and vector conditions (N, C) in memory, or images streamed by row; `epoch_size` rows are
    drawn per epoch (larger than N when data_ratio < 1 repeats the kept trajectories)."""

    actions: torch.Tensor
    conds: torch.Tensor | None
    epoch_size: int
    image_rows: np.ndarray | None = None
    images: Any = None  # h5py.Dataset of (rows, 3, 64, 64) uint8 (h5py is untyped)

    def __len__(self) -> int:
        return len(self.actions)

    def conditions(self, index: torch.Tensor) -> torch.Tensor | None:
        """Conditions of the samples `index` (B,): (B, C), (B, 3, 64, 64) or None."""
        if self.images is None:
            return None if self.conds is None else self.conds[index]
        assert self.image_rows is not None  # set together with images
        rows = self.image_rows[index.cpu().numpy()]
        unique, inverse = np.unique(rows, return_inverse=True)
        frames = torch.from_numpy(self.images[unique][inverse]).to(self.actions.device)
        return frames.float().div_(255.0)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.actions[index], self.conditions(index)

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """With a generator: one shuffled training epoch of epoch_size rows; without: every row once, in order."""
        if generator is None:
            order = torch.arange(len(self))
        else:
            repeats = -(-self.epoch_size // len(self))
            order = torch.cat([torch.randperm(len(self), generator=generator) for _ in range(repeats)])
            order = order[: self.epoch_size]
        order = order.to(self.actions.device)
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start : start + batch_size])


def split_trajectories(num_trajectories: int, data_ratio: float, debug: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Trajectory ids (train, validation) in dataset order, 90/10, and the trajectory count before data_ratio."""
    total = min(num_trajectories, DEBUG_TRAJECTORIES) if debug else num_trajectories
    if total < 2:
        raise UserError("the dataset holds fewer than 2 trajectories, too few to split train/validation; collect more")
    num_train = min(total - 1, max(1, int((1 - VALIDATION_FRACTION) * total)))
    kept = max(1, int(num_train * data_ratio))
    return np.arange(kept), np.arange(num_train, total), num_train


def build_samples(
    data: ExpertData,
    trajectories: np.ndarray,
    mode: str,
    n_step: int,
    one_step: bool,
    device: str = "cpu",
    full_trajectories: np.ndarray | None = None,
) -> SampleSet:
    """The samples of the given trajectories. `full_trajectories` (the train set before data_ratio) only sets the
    epoch size."""
    offset = first_window_offset(mode, n_step, one_step)
    rows = window_rows(data.bounds[trajectories], data.bounds[trajectories + 1], offset)
    if len(rows) == 0:
        raise UserError(f"no trajectory is longer than --n_step {n_step}; lower --n_step or collect longer ones")
    epoch_size = len(rows)
    if full_trajectories is not None:
        epoch_size = len(window_rows(data.bounds[full_trajectories], data.bounds[full_trajectories + 1], offset))
    actions = torch.from_numpy(np.ascontiguousarray(data.actions[rows], dtype=np.float32)).to(device)
    if one_step:
        return SampleSet(actions, None, epoch_size)
    if mode == "image":
        return SampleSet(actions, None, epoch_size, image_rows=rows, images=data.images)
    conds = torch.from_numpy(np.ascontiguousarray(conditions(data, mode, n_step, rows), dtype=np.float32))
    return SampleSet(actions, conds.to(device), epoch_size)


def condition_shape(data: ExpertData, mode: str, n_step: int, one_step: bool) -> tuple[int, ...]:
    """Shape of one condition: () for one-step priors, IMAGE_SHAPE for images, (C,) otherwise."""
    if one_step:
        return ()
    if mode == "image":
        return IMAGE_SHAPE
    widths = {
        "action": data.actions.shape[1] * n_step,
        "action+state": data.actions.shape[1] * n_step + data.observations.shape[1] + data.goals.shape[1],
        "state": data.observations.shape[1] * n_step,
        "state+goal": (data.observations.shape[1] + data.goals.shape[1]) * n_step,
    }
    return (widths[mode],)
