"""Prior checkpoints: {"state_dict": ..., "config": {...}} written atomically (the same tensors give the same bytes),
read with weights_only=True; a checkpoint whose weights are not all finite is refused.

Overwrite policy (flows/train.py): an existing checkpoint is replaced only by a run with the same identity
(factory.IDENTITY_KEYS: model, conditioning, dims, architecture, dataset md5, ...) and a strictly lower validation
loss, unless --overwrite True. A different identity is refused before training starts; a worse run keeps the
existing file and leaves its own model in its log directory.
"""

import pickle
import zipfile
from pathlib import Path

import torch

from sfp.errors import UserError
from sfp.finite import first_non_finite
from sfp.priors.base import PriorModel
from sfp.priors.factory import IDENTITY_KEYS, build_model
from sfp.priors.loading import command_for_checkpoint
from sfp.torch_files import save_torch


def save_checkpoint(path: Path, model: PriorModel, config: dict) -> Path:
    """Write the state_dict (moved to CPU) and config to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    return save_torch(path, {"state_dict": state, "config": config})


def read_checkpoint(path: Path) -> tuple[dict, dict]:
    """(state_dict, config). UserError for a missing, corrupt or foreign file, or one with non-finite weights."""
    if not path.exists():
        raise UserError(f"no prior checkpoint at {path}; train it with: {command_for_checkpoint(path)}")
    retrain = f"train it again with: {command_for_checkpoint(path)}"
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
        state, config = content["state_dict"], content["config"]
    except (
        RuntimeError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        EOFError,
        KeyError,
        TypeError,
        AttributeError,
        OSError,
    ) as err:
        raise UserError(
            f"{path} is corrupt or not an SFP prior checkpoint ({type(err).__name__}); delete it and {retrain}"
        ) from None
    problem = first_non_finite(state)
    if problem:
        raise UserError(f"{path}: the weight {problem}; delete it and {retrain}")
    return state, config


def load_model(path: Path, device: str = "cpu") -> tuple[PriorModel, dict]:
    """The frozen model (eval mode, no parameter gradients) of a checkpoint, on `device`, and its config."""
    state, config = read_checkpoint(path)
    model = build_model(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise UserError(f"{path} does not match its own config ({str(err).splitlines()[0]}); train it again") from None
    model.to(device).eval()
    model.requires_grad_(False)
    return model, config


def identity_differences(old: dict, new: dict) -> list[str]:
    """'key: old -> new' for every identity key on which two configs disagree."""
    return [f"{key}: {old.get(key)} -> {new.get(key)}" for key in IDENTITY_KEYS if old.get(key) != new.get(key)]


def check_replaceable(path: Path, config: dict, overwrite: bool) -> None:
    """Before training: UserError if `path` holds a checkpoint this run may never replace."""
    if overwrite or not path.exists():
        return
    try:
        _, old = read_checkpoint(path)
    except UserError as err:
        raise UserError(f"{str(err).split('; ')[0]}: move it away or pass --overwrite True") from None
    differences = identity_differences(old, config)
    if differences:
        raise UserError(
            f"{path} exists and was trained differently ({'; '.join(differences)}); "
            f"move it away or pass --overwrite True to replace it"
        )


def replacement_verdict(path: Path, val_loss: float, overwrite: bool) -> tuple[bool, str]:
    """After training: whether to write the new checkpoint to `path`, and why."""
    if not path.exists():
        return True, "new checkpoint"
    if overwrite:
        return True, "replaced the existing checkpoint (--overwrite True)"
    best = read_checkpoint(path)[1]["val_nll"]
    if val_loss < best:
        return True, f"replaced the existing checkpoint (validation loss {best:.4f} -> {val_loss:.4f})"
    return False, (
        f"kept the existing checkpoint: its validation loss {best:.4f} is not worse than "
        f"{val_loss:.4f} (pass --overwrite True to replace it)"
    )
