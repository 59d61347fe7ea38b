"""Torch files whose bytes depend only on their content."""

from pathlib import Path

import torch

from sfp.paths import atomic_output


def save_torch(path: Path, content) -> Path:
    """torch.save(content) to `path` atomically. It writes through an open file object, so the archive inside takes
    no name from the temporary file: identical content gives identical bytes."""
    with atomic_output(Path(path)) as tmp, open(tmp, "wb") as handle:
        torch.save(content, handle)
    return Path(path)
