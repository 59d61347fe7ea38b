"""Run checkpoints: everything needed to continue a run exactly (networks, optimisers, replay, RNG states,
counters, the episode in progress), written atomically so an interruption never leaves a torn file; the same state
gives the same bytes. A checkpoint whose networks or optimisers hold non-finite values is refused at resume."""

from pathlib import Path

import torch

from sfp.errors import UserError
from sfp.finite import first_non_finite
from sfp.torch_files import save_torch

CHECKPOINT_FILE = "checkpoint.pt"


def save_checkpoint(directory: str | Path, state: dict) -> Path:
    return save_torch(Path(directory) / CHECKPOINT_FILE, state)


def load_checkpoint(directory: str | Path) -> dict:
    """The run's own checkpoint (it holds numpy RNG states and arrays, so it is loaded with weights_only=False;
    only load checkpoints you made)."""
    path = Path(directory) / CHECKPOINT_FILE
    if not path.exists():
        raise UserError(f"no checkpoint in {path.parent}; check --exp_name and --seed")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a torn or foreign file: say which and what to do
        raise UserError(f"{path} is unreadable ({type(err).__name__}: {err}); remove it to restart the run") from None
    problem = first_non_finite(state.get("agent") if isinstance(state, dict) else None)
    if problem:
        raise UserError(
            f"{path}: the agent's {problem}, so the run cannot continue from it; remove it to restart the run"
        )
    return state
