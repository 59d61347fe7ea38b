"""Per-run logging: a Spinning Up style epoch logger writing progress.txt, tensorboard and one stdout line per epoch.

A run directory ($SFP_LOG_DIR/<exp_name>_s<seed>, see sfp.paths.run_dir) holds
  config.json     the effective parameters, a plain {key: value} object with sorted keys
  progress.txt    tab-separated, a header row then one row per epoch (columns: see `RL_ROW` and `column_names`)
  events.out.*    tensorboard scalars, one per progress column, x-axis = environment steps
  provenance.json written by sfp.provenance

Typical use by the trainer:
    directory = claim_run_dir(run_dir(exp_name, seed, debug), params, resume)
    logger = EpochLogger(directory)
    logger.save_config(params)
    if resume: logger.load_state_dict(checkpoint["logger"])
    ... logger.store(EpRet=ret, LogStd=log_std_batch) ...      # scalars or arrays, any number of times
    logger.log_epoch(epoch, env_steps, gradient_updates)      # one row; clears the stored values
    checkpoint["logger"] = logger.state_dict()

The logger keeps every row it wrote, and so does its state (the checkpoint). progress.txt is only ever extended when
it holds exactly those rows; otherwise (a kill mid-row, rows of a process that ran on after the checkpoint, a
damaged or deleted file) it is first rewritten from them, atomically, with a note. A resumed run's tensorboard
writer purges the events after the checkpoint's step, so no epoch is shown twice.
"""

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from sfp.errors import UserError
from sfp.event_files import session_writer
from sfp.paths import atomic_output, write_json
from sfp.schema import Params

if TYPE_CHECKING:  # imported when the first tensorboard row is written
    from torch.utils.tensorboard import SummaryWriter

STATS = "stats"  # Average<key>, Std<key>, Max<key>, Min<key> over every stored element of the epoch
MEAN = "mean"  # <key>: the average only
COUNTER = "counter"  # <key>: computed by the logger (see COUNTERS)
COUNTERS = ("Epoch", "TotalEnvInteracts", "Time", "SPS", "UpdatesPerSec")

# The downstream RL row: the original release's columns in their order, plus throughput counters.
RL_ROW = (
    ("Epoch", COUNTER),
    ("EpRet", STATS),
    ("TestEpRet", STATS),
    ("SuccessRate", STATS),
    ("TestSuccessRate", STATS),
    ("EpLen", MEAN),
    ("TestEpLen", MEAN),
    ("TotalEnvInteracts", COUNTER),
    ("Q1Vals", STATS),
    ("Q2Vals", STATS),
    ("Weights", STATS),
    ("Priorities", STATS),
    ("LogPi", STATS),
    ("LogStd", STATS),
    ("H", STATS),
    ("PriorP", STATS),
    ("MixingWeight", STATS),
    ("Lambda", STATS),
    ("LossPi", MEAN),
    ("LossQ", MEAN),
    ("LossLambda", MEAN),
    ("LossQSIL", MEAN),
    ("LossPiSIL", MEAN),
    ("Alpha", MEAN),
    ("LossAlpha", MEAN),
    ("Time", COUNTER),
    ("SPS", COUNTER),
    ("UpdatesPerSec", COUNTER),
)
PROGRESS_FILE = "progress.txt"
CONFIG_FILE = "config.json"
# Parameters that may change when a run is resumed (everything else must match the stored config.json).
RESUMABLE_CHANGES: tuple[str, ...] = ("resume", "epochs", "num_threads", "gpu", "save_freq", "video_freq")
RESUMABLE_CHANGES += ("track", "wandb_project", "wandb_entity", "wandb_group")  # tracking never changes a result


def column_names(spec=RL_ROW) -> list[str]:
    """progress.txt header of a row spec: [(key, kind)] -> ['Epoch', 'AverageEpRet', 'StdEpRet', ...]."""
    names = []
    for key, kind in spec:
        if kind == STATS:
            names += [f"{prefix}{key}" for prefix in ("Average", "Std", "Max", "Min")]
        elif kind in (MEAN, COUNTER):
            names.append(key)
        else:
            raise ValueError(f"unknown column kind {kind!r} for {key!r}")
    return names


def statistics(values: list) -> tuple[float, float, float, float]:
    """(mean, std, max, min) over ALL elements of the stored scalars/arrays; NaNs when nothing was stored."""
    if not values:
        return (math.nan,) * 4
    flat = np.concatenate([np.ravel(np.asarray(value, dtype=np.float64)) for value in values])
    if flat.size == 0:
        return (math.nan,) * 4
    return float(flat.mean()), float(flat.std()), float(flat.max()), float(flat.min())


def _as_array(value) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _format(value: float, digits: int = 8) -> str:
    return "nan" if math.isnan(value) else f"{value:.{digits}g}"


def _read_config(directory: Path) -> dict | None:
    path = directory / CONFIG_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise UserError(f"{path} is corrupt; choose a new --exp_name") from None


def _plain(params: Params | dict) -> dict:
    """A stage's parameters (by flag) or a mapping as a JSON-compatible {key: value} (tuples become lists)."""
    mapping = params.flag_values() if isinstance(params, Params) else dict(params)
    return json.loads(json.dumps(mapping, default=str))


def _differences(stored: dict, current: dict) -> list[str]:
    """'key: stored -> current' for every parameter that differs, except RESUMABLE_CHANGES."""
    changed = sorted(
        key
        for key in set(stored) | set(current)
        if key not in RESUMABLE_CHANGES and stored.get(key) != current.get(key)
    )
    return [f"{key}: {stored.get(key)!r} -> {current.get(key)!r}" for key in changed]


def check_run_claim(directory: str | Path, params, resume: bool) -> None:
    """The checks of claim_run_dir, writing nothing (a run makes them before its start-up work, and again under
    the directory's lock)."""
    directory = Path(directory)
    stored = _read_config(directory)
    holds_run = stored is not None or (directory / PROGRESS_FILE).exists()
    if not resume and holds_run:
        changed = _differences(stored, _plain(params)) if stored is not None else [f"no {CONFIG_FILE}"]
        if not changed:
            raise UserError(
                f"{directory} already holds a run with these parameters; continue it with --resume True, "
                f"or choose a new --exp_name to start it again"
            )
        raise UserError(
            f"{directory} already holds a run with other parameters ({', '.join(changed[:4])}); choose "
            f"a new --exp_name for this one (its directory is $SFP_LOG_DIR/<exp_name>_s<seed>)"
        )
    if resume:
        if stored is None:
            raise UserError(
                f"nothing to resume in {directory} (no {CONFIG_FILE}); drop --resume or check --exp_name and --seed"
            )
        changed = _differences(stored, _plain(params))
        if changed:
            raise UserError(
                f"{directory} holds a different run ({', '.join(changed[:4])}); resume with its "
                f"parameters or choose a new --exp_name"
            )


def claim_run_dir(directory: str | Path, params, resume: bool) -> Path:
    """Check that a run may write into `directory` and create it.

    Without `resume`, a directory that already holds a run (config.json or progress.txt) is refused, so nothing
    a user produced is overwritten: the same parameters are told to use --resume, others a new --exp_name. With
    `resume`, the directory must hold a run whose config.json matches `params` except for RESUMABLE_CHANGES.
    Raises UserError naming the fix.
    """
    directory = Path(directory)
    check_run_claim(directory, params, resume)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class EpochLogger:
    """Accumulates values during an epoch and writes one row per epoch (see the module docstring)."""

    def __init__(self, directory: str | Path, spec=RL_ROW, tensorboard: bool = True, echo: bool = True, sinks=()):
        self.directory = Path(directory)
        self.sinks = list(sinks)  # more destinations of each row: sink.log_row(row, step), sink.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.spec = tuple(spec)
        self.columns = column_names(self.spec)
        self.storable = {key for key, kind in self.spec if kind != COUNTER}
        self.tensorboard = tensorboard
        self.echo = echo
        self._values: dict[str, list] = {}
        self._writer: SummaryWriter | None = None
        self._purge_step = 1  # tensorboard drops earlier sessions' events from this step on (none in a new run)
        self._session_start = time.monotonic()
        self._elapsed_before = 0.0  # wall time of earlier sessions of a resumed run
        self._state = {"epoch": 0, "step": 0, "updates": 0}
        self._rows: list[str] = []  # every progress.txt row written so far, as text
        self._last = (self._session_start, 0, 0)  # (clock, step, updates) at the previous row

    @property
    def progress_path(self) -> Path:
        return self.directory / PROGRESS_FILE

    def save_config(self, params) -> Path:
        """config.json: the effective parameters as a plain {key: value} object, keys sorted. `resume` is how this
        session started, not a property of the run, so it is written as false: any config.json is a valid --config
        for a new run."""
        path = self.directory / CONFIG_FILE
        plain = _plain(params)
        write_json(path, {**plain, "resume": False} if "resume" in plain else plain)
        return path

    def store(self, **values) -> None:
        """Accumulate scalars or arrays (numpy or torch) per key until the next log_epoch. A key outside the row
        spec raises ValueError at once (it would never be written)."""
        for key, value in values.items():
            if key not in self.storable:
                raise ValueError(f"{key!r} is not a stored column of this logger's row spec; add it to the spec")
            self._values.setdefault(key, []).append(_as_array(value))

    def log_epoch(self, epoch: int, step: int, updates: int = 0) -> dict[str, float]:
        """Write one row and clear the stored values.

        epoch: epochs finished so far; step: environment steps taken so far (TotalEnvInteracts, the tensorboard
        x-axis); updates: gradient updates performed so far. Returns the row {column: value}. A key that was
        never stored this epoch is written as nan.
        """
        now = time.monotonic()
        last_clock, last_step, last_updates = self._last
        interval = max(now - last_clock, 1e-9)
        counters = {
            "Epoch": float(epoch),
            "TotalEnvInteracts": float(step),
            "Time": self._elapsed_before + now - self._session_start,
            "SPS": (step - last_step) / interval,
            "UpdatesPerSec": (updates - last_updates) / interval,
        }
        row = {}
        for key, kind in self.spec:
            if kind == COUNTER:
                row[key] = counters[key]
            elif kind == MEAN:
                row[key] = statistics(self._values.get(key, []))[0]
            else:
                for prefix, value in zip(("Average", "Std", "Max", "Min"), statistics(self._values.get(key, []))):
                    row[f"{prefix}{key}"] = value
        self._append_row("\t".join(_format(row[name]) for name in self.columns))
        self._write_tensorboard(row, step)
        for sink in self.sinks:
            sink.log_row(row, step)
        if self.echo:
            tqdm.write(format_table(row))
        self._values.clear()
        self._last = (now, step, updates)
        self._state = {"epoch": epoch, "step": step, "updates": updates}
        return row

    def state_dict(self) -> dict:
        """What a checkpoint needs to resume this log: the last row's epoch, step, updates and elapsed time, every
        row written (with the column names) and the values stored since the last row (a checkpoint taken
        mid-epoch, e.g. on Ctrl-C, keeps them for the next row)."""
        return {
            **self._state,
            "elapsed": self._elapsed_before + self._last[0] - self._session_start,
            "values": {key: list(values) for key, values in self._values.items()},
            "columns": list(self.columns),
            "rows": list(self._rows),
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume: make progress.txt hold exactly the state's rows (rewriting it if it does not), hide later
        tensorboard events, and continue the counters. Call before the first log_epoch."""
        if state.get("columns") != self.columns:
            raise UserError(
                f"the checkpoint in {self.directory} was written by a version of this code with other "
                f"progress columns; continue it with that version or choose a new --exp_name"
            )
        self._rows = list(state["rows"])
        self._state = {key: int(state[key]) for key in ("epoch", "step", "updates")}
        self._values = {key: list(values) for key, values in state.get("values", {}).items()}
        self._elapsed_before = float(state["elapsed"])
        self._session_start = time.monotonic()
        self._last = (self._session_start, self._state["step"], self._state["updates"])
        self._purge_step = self._state["step"] + 1
        self._sync_progress()

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
        self.sinks = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _sync_progress(self) -> None:
        """Make progress.txt the header and exactly the rows written so far, atomically, if it is anything else."""
        expected = "".join(f"{line}\n" for line in ["\t".join(self.columns), *self._rows]).encode()
        current = self.progress_path.read_bytes() if self.progress_path.exists() else None
        if current == expected or (current is None and not self._rows):
            return
        with atomic_output(self.progress_path) as tmp:
            tmp.write_bytes(expected)
        tqdm.write(
            f"note: {self.progress_path} did not match the run's checkpoint (a kill mid-write, another "
            f"writer or an edit); rewrote it with the checkpoint's {len(self._rows)} rows"
        )

    def _append_row(self, line: str) -> None:
        self._sync_progress()
        with open(self.progress_path, "a") as handle:
            if not self._rows and handle.tell() == 0:
                handle.write("\t".join(self.columns) + "\n")
            handle.write(line + "\n")
        self._rows.append(line)

    def _write_tensorboard(self, row: dict[str, float], step: int) -> None:
        if not self.tensorboard:
            return
        if self._writer is None:
            self._writer = session_writer(self.directory, purge_step=self._purge_step)
        for name, value in row.items():
            if not math.isnan(value):
                self._writer.add_scalar(name, value, global_step=step)
        self._writer.flush()


# The epoch's line on stdout: groups of (label, progress column), the rest is in progress.txt and tensorboard. The
# prior's group is printed when the run uses a prior (lambda logged, or a share of prior actions above zero).
ECHO = (
    (("epoch", "Epoch"), ("steps", "TotalEnvInteracts")),
    (("test success", "AverageTestSuccessRate"), ("return", "AverageTestEpRet")),
    (("train success", "AverageSuccessRate"), ("return", "AverageEpRet")),
    (("lambda", "AverageLambda"), ("prior share", "AveragePriorP")),
    (("Alpha", "Alpha"), ("LossQ", "LossQ"), ("LossPi", "LossPi")),
    (("steps/s", "SPS"),),
)
PRIOR_ECHO = ("AverageLambda", "AveragePriorP")


def _short(value: float) -> str:
    """Counts and values of 1000 or more as whole numbers, others to 4 significant digits."""
    value = float(value)
    return f"{value:.0f}" if math.isfinite(value) and (value.is_integer() or abs(value) >= 1000) else _format(value, 4)


def format_table(row: dict[str, float]) -> str:
    """The ECHO columns of one row on one line, for stdout (columns missing from the row are left out)."""
    uses_prior = not math.isnan(row.get("AverageLambda", math.nan)) or row.get("AveragePriorP", 0.0) > 0
    groups = []
    for group in ECHO:
        if group[0][1] in PRIOR_ECHO and not uses_prior:
            continue
        shown = [f"{label} {_short(row[column])}" for label, column in group if column in row]
        if shown:
            groups.append(", ".join(shown))
    return " | ".join(groups)
