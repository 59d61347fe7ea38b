"""The log directory of one prior-training run: params.json, progress.txt (tab-separated, one row per epoch),
tensorboard event files, training_state.pt (sfp.priors.training_state) and whatever diagnostics write there."""

from pathlib import Path

from tqdm import tqdm

from sfp.event_files import session_writer
from sfp.paths import atomic_output


def fresh_directory(base: Path) -> Path:
    """`base`, or base_2, base_3, ... if it already holds files (an earlier run's logs are never mixed in)."""
    candidate, number = base, 1
    while candidate.exists() and any(candidate.iterdir()):
        number += 1
        candidate = base.with_name(f"{base.name}_{number}")
    candidate.mkdir(parents=True, exist_ok=True)
    return candidate


def numbered_directories(base: Path) -> list[Path]:
    """The existing directories base, base_2, base_3, ... in the order fresh_directory made them."""
    found, number = [], 1
    while (candidate := base if number == 1 else base.with_name(f"{base.name}_{number}")).is_dir():
        found.append(candidate)
        number += 1
    return found


def format_row(values: dict, columns: list[str]) -> list[str]:
    return [f"{values[name]:.6g}" if isinstance(values[name], float) else str(values[name]) for name in columns]


class RunLog:
    """Per-epoch rows to progress.txt, tensorboard and the terminal. `rows` holds every row; a resumed run passes
    the rows of its training state, which are the truth: a progress.txt that differs from them is rewritten."""

    def __init__(self, directory: Path, rows: list[dict] | None = None):
        self.directory = directory
        # epochs after the state's rows are written again: a killed session's events for them are hidden
        self.writer = session_writer(directory, purge_step=len(rows or []) + 1)
        self.progress = directory / "progress.txt"
        self.rows = list(rows or [])
        self.columns: list[str] | None = list(self.rows[0]) if self.rows else None
        if self.columns is not None:
            columns = self.columns
            text = "".join(
                "\t".join(cells) + "\n" for cells in [columns] + [format_row(row, columns) for row in self.rows]
            )
            if not self.progress.exists() or self.progress.read_text() != text:
                with atomic_output(self.progress) as tmp:
                    tmp.write_text(text)
                tqdm.write(f"{self.progress} rewritten from the training state ({len(self.rows)} epochs)")

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.writer.add_scalar(tag, value, step)

    def row(self, values: dict) -> None:
        """One epoch: a progress.txt row, tensorboard scalars train/loss and val/loss, a printed table line."""
        if self.columns is None:
            self.columns = list(values)
            self.progress.write_text("\t".join(self.columns) + "\n")
            tqdm.write("  ".join(f"{name:>12}" for name in self.columns))
        self.rows.append(dict(values))
        cells = format_row(values, self.columns)
        with self.progress.open("a") as handle:
            handle.write("\t".join(cells) + "\n")
        tqdm.write("  ".join(f"{cell:>12}" for cell in cells))
        self.scalar("train/loss", values["train_loss"], values["epoch"])
        self.scalar("val/loss", values["val_loss"], values["epoch"])

    def close(self) -> None:
        self.writer.close()
