"""Run checkpoints: everything needed to continue a run exactly (networks, optimisers, replay, RNG states,
counters, the episode in progress), written atomically so an interruption never leaves a torn file."""
from pathlib import Path

import torch

from sfp.errors import UserError
from sfp.paths import atomic_output

CHECKPOINT_FILE = "checkpoint.pt"


def save_checkpoint(directory: str | Path, state: dict) -> Path:
    path = Path(directory) / CHECKPOINT_FILE
    with atomic_output(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(directory: str | Path) -> dict:
    """The run's own checkpoint (it holds numpy RNG states and arrays, so it is loaded with weights_only=False;
    only load checkpoints you made)."""
    path = Path(directory) / CHECKPOINT_FILE
    if not path.exists():
        raise UserError(f"no checkpoint in {path.parent}; check --exp_name and --seed")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a torn or foreign file: say which and what to do
        raise UserError(f"{path} is unreadable ({type(err).__name__}: {err}); remove it to restart the run") from None
