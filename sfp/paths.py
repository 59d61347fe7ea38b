"""Where every stage reads and writes, and the file names the three stages share.

Directories come from environment variables with defaults:
  $D4RL_DATASET_DIR  (~/.d4rl/datasets)  expert trajectories: <name>_primitive/ pieces and <name>_primitive.hdf5
  $SFP_FLOW_DIR      (~/flows)           prior checkpoints <name>_primitive_<model>_...pt
  $SFP_LOG_DIR       (~/logs)            training logs
They are created on demand by the code that writes into them (`create=True`).

<name> is the data name of the expert that made the data (`data_name`): the short name for the original release's
expert (maze, sawyer, hopper, ...), <short>-<expert> for another one (maze-fixed: the maze expert with its frame
fixed). Every file made from a dataset carries its data name, so data of two experts never mix.
"""

import hashlib
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

from sfp.errors import UserError
from sfp.invocation import command

SUITES = {"point-maze": "maze", "meta-world": "sawyer"}
LOCOMOTION_BODIES = ("swimmer", "hopper", "walker", "ant", "halfcheetah")
GYM_DATA_NAMES = ("pointmaze", "fetch")  # the built-in Gymnasium-Robotics experts' data (sfp.data.gym_experts)
SHORT_NAMES = tuple(SUITES.values()) + LOCOMOTION_BODIES + GYM_DATA_NAMES
MAX_NAME_BYTES = 200  # file systems allow 255 per name; run directories add suffixes such as _s<seed>.failed-<time>


def check_name(name, what: str) -> str:
    """`name` if it can be one directory name inside a data directory; else a UserError naming `what`."""
    if not isinstance(name, str) or not name:
        problem = "it is empty" if name == "" else "it is not a string"
    elif "/" in name or "\\" in name:
        problem = "it contains a path separator"
    elif ".." in name:
        problem = "it contains '..'"
    elif name == ".":
        problem = "it is the current directory"
    elif name.startswith("-"):
        problem = "it starts with '-', like an option"
    elif any(ord(char) < 32 or ord(char) == 127 for char in name):
        problem = "it contains a control character"
    elif len(os.fsencode(name)) > MAX_NAME_BYTES:
        problem = f"it is longer than {MAX_NAME_BYTES} bytes"
    else:
        return name
    raise UserError(f"{what} {name!r} is not a name ({problem}): use letters, digits, '.', '-' and '_'")


EXPERTS = ("original", "fixed")  # the maze's two experts (sfp.data.experts); the other suites have the original's
DEFAULT_EXPERT = "original"  # the paper's data


# names of imported datasets: lower-case words joined by '_' ('-' is the data name's expert separator)
IMPORTED_NAME = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")


def short_name(suite: str) -> str:
    """'point-maze' -> 'maze', 'meta-world' -> 'sawyer'; short names and locomotion bodies map to themselves, and so
    does the short name of any existing dataset `<name>_primitive.hdf5` (e.g. one imported from Minari)."""
    if suite in SUITES:
        return SUITES[suite]
    if suite in SHORT_NAMES or (IMPORTED_NAME.fullmatch(suite) and dataset_file(suite).exists()):
        return suite
    raise UserError(
        f"unknown suite {suite!r}: use one of {', '.join(list(SUITES) + list(SHORT_NAMES))}, or the --short name "
        f"of a dataset imported into {dataset_dir()} ({command('sfp-import-minari')})"
    )


def check_import_name(name: str) -> str:
    """`name` if an import may write `<name>_primitive.hdf5` and `short_name(name)` finds it again, else UserError."""
    if not IMPORTED_NAME.fullmatch(name):
        raise UserError(
            f"--short {name!r} cannot name a dataset: use lower-case letters and digits, words joined "
            "by '_' (e.g. pen_human)"
        )
    return name


def data_name(short: str, expert: str = DEFAULT_EXPERT) -> str:
    """'maze', 'original' -> 'maze'; 'maze', 'fixed' -> 'maze-fixed' (see the module docstring)."""
    return short if expert == DEFAULT_EXPERT else f"{short}-{expert}"


def split_data_name(name: str) -> tuple[str, str]:
    """The inverse of data_name: 'maze-fixed' -> ('maze', 'fixed'), 'maze' -> ('maze', 'original')."""
    short, _, expert = name.partition("-")
    return short, expert or DEFAULT_EXPERT


def _directory(variable: str, default: Path, create: bool) -> Path:
    path = Path(os.environ.get(variable) or default).expanduser()
    if create:
        ensure_dir(path, _unusable_fix(variable))
    return path


def _unusable_fix(variable: str) -> str:
    return f"set ${variable} to a writable directory"


def check_data_dirs(*variables: str) -> None:
    """Check, creating nothing, that files can be written in the directories of `variables` (SFP_LOG_DIR, ...;
    check_writable): a command calls it before any work, and the code that writes into them makes them."""
    directories = {"D4RL_DATASET_DIR": dataset_dir, "SFP_FLOW_DIR": flow_dir, "SFP_LOG_DIR": log_dir}
    for variable in variables:
        check_writable(directories[variable](), _unusable_fix(variable))


def ensure_dir(path: Path, fix: str) -> Path:
    """Create the directory `path` (and its parents); a UserError naming the path and `fix` if it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{path} cannot be created: it is a file, not a directory; {fix}") from None
    except OSError as err:
        raise UserError(f"{path} cannot be created ({err.strerror}); {fix}") from None
    return path


def dataset_dir(create: bool = False) -> Path:
    return _directory("D4RL_DATASET_DIR", Path.home() / ".d4rl" / "datasets", create)


def flow_dir(create: bool = False) -> Path:
    return _directory("SFP_FLOW_DIR", Path.home() / "flows", create)


def log_dir(create: bool = False) -> Path:
    return _directory("SFP_LOG_DIR", Path.home() / "logs", create)


def pieces_dir(name: str, create: bool = False) -> Path:
    """Folder of the per-trajectory files written during collection (`name`: a data name)."""
    path = dataset_dir(create) / f"{name}_primitive"
    if create:
        ensure_dir(path, "move that file away")
    return path


DATASET_SUFFIX = "_primitive.hdf5"  # <data name><suffix>: the distilled dataset
LEGACY_DATASET_SUFFIX = "_primitive_distilled.npy"  # <short name><suffix>: the original release's distilled file


def dataset_file(name: str) -> Path:
    """The distilled dataset every later stage reads (`name`: a data name)."""
    return dataset_dir() / f"{name}{DATASET_SUFFIX}"


def legacy_dataset_file(short: str) -> Path:
    """The original release's distilled dict file, read when no .hdf5 exists."""
    return dataset_dir() / f"{short}{LEGACY_DATASET_SUFFIX}"


def prior_checkpoint_name(
    short: str, model: str, cond: str, n_step: int, data_ratio: float = 1.0, one_step: bool = False
) -> str:
    """<short>_primitive_<model>_<cond>_<n_step>[_<ratio>|_one_step].pt, as written by flows/train.py (`short`: the
    data name of the prior's dataset)."""
    name = f"{short}_primitive_{model}_{cond}_{n_step}"
    if data_ratio < 1.0:
        name += f"_{data_ratio}"
    elif one_step:
        name += "_one_step"
    return name + ".pt"


def prior_checkpoint(
    short: str, model: str, cond: str, n_step: int, data_ratio: float = 1.0, one_step: bool = False
) -> Path:
    return flow_dir() / prior_checkpoint_name(short, model, cond, n_step, data_ratio, one_step)


def run_dir(exp_name: str, seed: int, debug: bool = False) -> Path:
    """Log directory of one run: $SFP_LOG_DIR/<exp_name>_s<seed> (the system temp folder when debugging)."""
    root = Path(tempfile.gettempdir()) / "sfp-debug" if debug else log_dir()
    return root / f"{exp_name}_s{seed}"


def check_run_dir(directory: Path) -> Path:
    """`directory` if a run may be made there (a directory already, or a place where one can be created); else a
    UserError naming the fix. Writes nothing."""
    if os.path.lexists(directory) and not directory.is_dir():
        raise UserError(f"{directory} is a file, not a run directory: move that file away or choose another --exp_name")
    check_writable(directory, _unusable_fix("SFP_LOG_DIR"))
    return directory


# ------------------------------------------------------------------------------------------------ user-named outputs
# Outputs a user names (evaluate's --video and report, plot's and plot_exploration's --out) are checked before any
# work. The one rule for existing files: a file that exists is replaced, and the command says so (`replacing_note`)
# before its work starts; a directory in the way is refused.
NAME_MAX = 255  # bytes in one file name (Linux, macOS)
TEMP_MARGIN = 24  # bytes the name of a temporary file beside an output adds (atomic_write_path)


def check_writable(directory: Path, fix: str) -> None:
    """A UserError naming `fix` unless files can be written in `directory` (made later, with its parents, if it is
    missing): no regular file on the way, and the nearest existing folder is writable, tested with a file that is
    made and removed at once (permissions alone do not tell, e.g. for root or on a read-only mount). Creates
    nothing else."""
    directory = Path(os.path.abspath(Path(directory).expanduser()))
    existing = directory
    while not os.path.lexists(existing):
        existing = existing.parent
    if not existing.is_dir():
        kind = "a file, not a directory" if existing.is_file() else "not a directory"
        if existing == directory:
            raise UserError(f"the folder {existing} cannot be created: it is {kind}; {fix}")
        first = existing / directory.relative_to(existing).parts[0]  # the folder that cannot be made inside it
        raise UserError(f"the folder {first} cannot be created: {existing} is {kind}; {fix}")
    for part in directory.relative_to(existing).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise UserError(f"the folder name {part[:40]}... is longer than {NAME_MAX} bytes; {fix}")
    reason = None if os.access(existing, os.W_OK | os.X_OK) else "Permission denied"
    if reason is None:
        try:
            handle, probe = tempfile.mkstemp(prefix=".sfp-write-check-", dir=existing)
        except OSError as err:
            reason = err.strerror or type(err).__name__
        else:
            os.close(handle)
            os.unlink(probe)
    if reason is not None:
        raise UserError(f"cannot create files in {existing} ({reason}); {fix}")


def output_file(value: str | Path, flag: str, default_name: str, suffixes: tuple[str, ...] = ()) -> Path:
    """The file a user-named output means, checked before any work: an existing directory, or a name ending in '/',
    means `default_name` inside it; the suffix must be one of `suffixes` (if given, lower case with the dot); the
    place must be writable (check_writable) and the file must not be a directory. Writes nothing."""
    text = os.fspath(value)
    if not text:
        raise UserError(f"{flag} is empty; name a file, or a directory to write {default_name} in")
    path = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir():
        path = path / default_name
    if suffixes and path.suffix.lower() not in suffixes:
        raise UserError(
            f"{flag} {text}: the file must end in {' or '.join(suffixes)} (that is what is written), "
            f"e.g. {path.with_suffix(suffixes[0]).name}"
        )
    check_output_names([path], f"choose another {flag}")
    return path


def check_output_names(files: list[Path], fix: str) -> None:
    """A UserError naming `fix` unless every one of `files` can be written: writable folders, names short enough
    for their temporary file, and no directory where a file goes."""
    for path in files:
        if len(os.fsencode(path.name)) > NAME_MAX - TEMP_MARGIN:
            raise UserError(f"the file name {path.name[:40]}... is too long; {fix}")
        if path.is_dir():
            raise UserError(f"{path} is a directory, where a file would be written; {fix}")
    for folder in dict.fromkeys(path.parent for path in files):
        check_writable(folder, fix)


def replacing_note(files: list[Path]) -> str | None:
    """'replacing <file>, ...' for those of `files` that exist (to print before the work that replaces them)."""
    existing = [str(path) for path in files if path.is_file()]
    if len(existing) > 4:
        return f"replacing {len(existing)} files: {', '.join(existing[:3])} and {len(existing) - 3} more"
    return f"replacing {', '.join(existing)}" if existing else None


def atomic_write_path(final: Path) -> Path:
    """A temporary path beside `final`, private to this process."""
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


@contextmanager
def atomic_output(final: Path):
    """Yield a temporary path beside `final` to write; when the block succeeds it is renamed to `final`, so readers
    never see a torn file. The temporary file is removed in any case."""
    tmp = atomic_write_path(Path(final))
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, payload) -> None:
    """Write `payload` as indented, key-sorted JSON, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def file_md5(path: str | Path, chunk: int = 1 << 20) -> str:
    """md5 of a file's bytes (provenance of datasets and priors)."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
