"""The resumable state of one prior-training run: <log dir>/training_state.pt, rewritten atomically after every epoch.

It holds everything the next epoch depends on: the model and optimizer state, where training stands (epoch, best
validation loss, epoch and model, a recorded early or non-finite stop), every random generator the training draws
from (torch, numpy, Python, the batch-order generator) and the progress rows. A run killed at any moment and
resumed from it ends with the same weights and the same progress.txt as an uninterrupted run. `finished` is set
once the end-of-training work (checkpoint, diagnostics) is done; only unfinished states are resumed.

While a run trains it holds an exclusive flock on <log dir>/.training.lock, so a second process never resumes a
directory that is still being written; a second process asked to train the same prior at that moment stops with
RunLocked (exit status 75) instead of training it twice.
"""

import json
import random
from pathlib import Path

import numpy as np
import torch

from sfp.errors import UserError
from sfp.priors.params import PriorParams
from sfp.priors.runlog import numbered_directories
from sfp.priors.trainer import Progress
from sfp.run_lock import RunLocked, holder_of, try_lock
from sfp.torch_files import save_torch

STATE_FILE = "training_state.pt"
LOCK_FILE = ".training.lock"
RESUMABLE_KEYS = ("epochs", "num_threads", "resume", "log_interval", "overwrite")  # may change between sessions


def identity(params: PriorParams, dataset_md5: str) -> dict:
    """The parameters a resumed run must share with the run it continues (JSON-normalised), plus the dataset md5."""
    kept = {key: value for key, value in params.flag_values().items() if key not in RESUMABLE_KEYS}
    return json.loads(json.dumps({**kept, "dataset_md5": dataset_md5}, default=str))


def rng_states(generator: torch.Generator) -> dict:
    state = np.random.get_state()
    assert isinstance(state, tuple)  # the global RandomState is an MT19937, whose legacy state is a tuple
    kind, key, pos, has_gauss, gauss = state
    return {
        "torch": torch.get_rng_state(),
        "generator": generator.get_state(),
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss],
    }


def restore_rng_states(states: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(states["torch"])
    generator.set_state(states["generator"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, key, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, cached))


def save_state(
    directory: Path,
    params: dict,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    progress: Progress,
    generator: torch.Generator,
    rows: list[dict],
    finished: bool = False,
) -> None:
    """Write the whole training state to directory/STATE_FILE atomically."""
    content = {
        "params": params,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "progress": vars(progress),
        "rng": rng_states(generator),
        "rows": rows,
        "finished": finished,
    }
    save_torch(directory / STATE_FILE, content)


def load_state(directory: Path) -> dict:
    """The content of directory/STATE_FILE; UserError if it cannot be read."""
    path = directory / STATE_FILE
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged file of any kind: name it and the way out
        raise UserError(
            f"{path} cannot be read ({type(err).__name__}); move that directory away and train again"
        ) from None


def restore(
    content: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator
) -> Progress:
    """Put model, optimizer and every random generator back where the saved run stood; return its Progress."""
    model.load_state_dict(content["model"])
    optimizer.load_state_dict(content["optimizer"])
    restore_rng_states(content["rng"], generator)
    return Progress(**content["progress"])


def mark_finished(directory: Path) -> None:
    content = load_state(directory)
    content["finished"] = True
    save_torch(directory / STATE_FILE, content)


def lock(directory: Path):
    """The lock of a prior-training run directory (an open file: keep it until the run ends), or None if another
    process holds it."""
    return try_lock(directory / LOCK_FILE)


def differences(saved: dict, current: dict) -> list[str]:
    """`--key saved (now current)` for every identity parameter that differs."""
    return [
        f"--{key} {saved.get(key)} (now {current.get(key)})"
        for key in sorted(set(saved) | set(current))
        if saved.get(key) != current.get(key)
    ]


def trains_the_same(directory: Path, current: dict) -> bool:
    """Whether the run in `directory` has the identity `current`, from its params.json (written just after its lock
    is taken; a run whose file cannot be read yet counts as the same)."""
    try:
        saved = json.loads((directory / "params.json").read_text())
    except (OSError, ValueError):
        return True
    return all(saved.get(key) == value for key, value in current.items())


def find_resumable(base: Path, current: dict, required: bool):
    """(directory, state, lock) of the newest unfinished, unlocked run under `base`, base_2, ... whose identity
    equals `current`, or None. With `required` (--resume True) a missing or different run is a UserError. A run of
    the same identity that another process is training now is RunLocked: training it a second time would only
    double the work."""
    for directory in reversed(numbered_directories(base)):
        holder = holder_of(directory / LOCK_FILE)
        if holder is not None and trains_the_same(directory, current):
            raise RunLocked(
                f"{directory} is training this prior now ({holder}); wait for it to finish (it saves "
                f"the checkpoint), or stop it and run again to continue it"
            )
        if not (directory / STATE_FILE).exists():
            continue
        content = load_state(directory)
        if content["finished"]:
            continue
        handle = lock(directory)
        if handle is None:
            if required:
                raise UserError(f"{directory} is being trained by another process; wait for it or stop it")
            continue
        changed = differences(content["params"], current)
        if not changed:
            return directory, content, handle
        handle.close()
        if required:
            raise UserError(
                f"{directory} was trained with {', '.join(changed)}; use the same values to resume, or "
                f"drop --resume True to start a fresh run"
            )
        return None
    if required:
        raise UserError(
            f"nothing to resume: no unfinished training of this prior in {base}[_N]; drop --resume True to start one"
        )
    return None
