"""The log directory of one prior-training run: params.json, progress.txt (tab-separated, one row per epoch),
tensorboard event files, and whatever diagnostics write there."""
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm


def fresh_directory(base: Path) -> Path:
    """`base`, or base_2, base_3, ... if it already holds files (an earlier run's logs are never mixed in)."""
    candidate, number = base, 1
    while candidate.exists() and any(candidate.iterdir()):
        number += 1
        candidate = base.with_name(f"{base.name}_{number}")
    candidate.mkdir(parents=True, exist_ok=True)
    return candidate


class RunLog:
    """Per-epoch rows to progress.txt, tensorboard and the terminal."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.writer = SummaryWriter(log_dir=str(directory))
        self.progress = directory / "progress.txt"
        self.columns: list[str] | None = None

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.writer.add_scalar(tag, value, step)

    def row(self, values: dict) -> None:
        """One epoch: a progress.txt row, tensorboard scalars train/loss and val/loss, a printed table line."""
        if self.columns is None:
            self.columns = list(values)
            self.progress.write_text("\t".join(self.columns) + "\n")
            tqdm.write("  ".join(f"{name:>12}" for name in self.columns))
        cells = [f"{values[name]:.6g}" if isinstance(values[name], float) else str(values[name])
                 for name in self.columns]
        with self.progress.open("a") as handle:
            handle.write("\t".join(cells) + "\n")
        tqdm.write("  ".join(f"{cell:>12}" for cell in cells))
        self.scalar("train/loss", values["train_loss"], values["epoch"])
        self.scalar("val/loss", values["val_loss"], values["epoch"])

    def close(self) -> None:
        self.writer.close()
