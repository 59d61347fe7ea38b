"""Expert-trajectory datasets: the one format every stage reads.

A distilled dataset `$D4RL_DATASET_DIR/<short>_primitive.hdf5` holds D4RL's keys plus SFP's own, one row per step:

  observations (N, S) float32   state at which actions[i] was taken (maze: scaled position; sawyer: obs[:36])
  actions      (N, A) float32   the expert's action
  goals        (N, G) float32   the point the expert was heading for (locomotion imports: the next observation)
  rewards      (N,)   float32   zeros (the experts are task-agnostic)
  terminals    (N,)   bool      true environment terminations (none for the experts)
  timeouts     (N,)   bool      last step of a trajectory cut by its length
  images       (N, 3, 64, 64) uint8, optional, chunked one frame per chunk so that frames can be streamed

A trajectory ends at every row where `terminals | timeouts` is set. `load_dataset` also reads the original
release's `<short>_primitive_distilled.npy` dict files (keys actions, states, goals, terminals, timeouts). <name> is
the data name of the expert that made it (sfp.paths.data_name: maze, maze-fixed, sawyer, hopper, ...); the file's
"expert" attribute must agree with it.

Every reader and writer checks the arrays (check_arrays): ranks, float observations/actions/goals (int64 actions
are refused, not cast), one row count, finite numbers, and on load the action width of the suite (ACTION_DIMS), so a
bad file stops with one line naming it before any training.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import h5py
import numpy as np

from sfp import paths
from sfp.errors import UserError, one_line
from sfp.finite import non_finite
from sfp.invocation import command

MAX_LISTED = 12  # data names an error lists at most
VECTOR_KEYS = ("observations", "actions", "goals", "rewards", "terminals", "timeouts")
IMAGE_KEY = "images"
IMAGE_SHAPE = (3, 64, 64)
DTYPES = {
    "observations": np.float32,
    "actions": np.float32,
    "goals": np.float32,
    "rewards": np.float32,
    "terminals": np.bool_,
    "timeouts": np.bool_,
}
MATRIX_KEYS = ("observations", "actions", "goals")  # (N, width) floats; the other keys are (N,)
NUMBER_KEYS = (*MATRIX_KEYS, "rewards")  # must be finite
DTYPE_KINDS = {**{key: "f" for key in MATRIX_KEYS}, "rewards": "fiub", "terminals": "biuf", "timeouts": "biuf"}
# action widths of the data names whose environment is known (other names, e.g. a user's gym data, are not checked
# here; the RL run checks any dataset against its environment)
ACTION_DIMS = {
    "maze": 2,
    "sawyer": 4,
    "swimmer": 2,
    "hopper": 3,
    "walker": 6,
    "ant": 8,
    "halfcheetah": 6,
    "pointmaze": 2,  # PointMaze_* (sfp.data.gym_experts)
    "fetch": 4,  # Fetch*
}


def script_options(name: str) -> str:
    """The collect/distill options of an expert's data name: 'maze-fixed' -> '--env point-maze --expert fixed'."""
    short, expert = paths.split_data_name(name)
    suite = {value: key for key, value in paths.SUITES.items()}[short]
    return f"--env {suite} --expert {expert}" if suite == "point-maze" else f"--env {suite}"


def collect_command(name: str) -> str:
    """The command that creates the dataset of a data name (for error messages): its suite's, its import's or its
    Gymnasium collection's; for another name, collecting or importing new data (under another name when this one
    cannot name data)."""
    if name in paths.LOCOMOTION_BODIES:
        return f"{command('sfp-import-d4rl')} --file <{name}-expert-v2.hdf5>"
    if paths.split_data_name(name)[0] not in paths.SUITES.values():
        from sfp.data.gym_collection import gym_commands  # a Gymnasium collection's name (pointmaze, fetch, ...)

        gym = gym_commands(name)
        if gym:
            return gym
        collect = f"{command('sfp-collect')} --env <Gymnasium id> --expert <module:callable> --name"
        if not paths.IMPORTED_NAME.fullmatch(name):
            rule = "lower-case letters and digits, words joined by '_'"
            return f"{collect} <data name> ({name!r} cannot name data: use {rule})"
        return f"{collect} {name}, or {command('sfp-import-minari')} --short {name} --dataset <minari id>"
    options = script_options(name)
    return f"{command('sfp-collect')} {options} && {command('sfp-distill')} {options}"


def data_names() -> list[str]:
    """The data names of the datasets in $D4RL_DATASET_DIR (.hdf5 files and the original release's .npy files)."""
    suffixes = (paths.DATASET_SUFFIX, paths.LEGACY_DATASET_SUFFIX)
    folder = paths.dataset_dir()
    files = [entry.name for entry in folder.iterdir() if entry.is_file()] if folder.is_dir() else []
    return sorted({name.removesuffix(suffix) for name in files for suffix in suffixes if name.endswith(suffix)})


def no_dataset(name: str) -> str:
    """'no dataset <name> in <folder> (it holds <names>); make it with: <command>': the error of a missing dataset."""
    names = data_names()
    held = ", ".join(names[:MAX_LISTED] + (["..."] if len(names) > MAX_LISTED else [])) or "no data"
    return f"no dataset {name!r} in {paths.dataset_dir()} (it holds {held}); make it with: {collect_command(name)}"


def action_width(name: str) -> int | None:
    """The action width of the .hdf5 dataset of a data name (None when it cannot be read)."""
    try:
        with h5py.File(paths.dataset_file(name), "r") as handle:
            shape = handle["actions"].shape
    except (OSError, KeyError, AttributeError):  # not HDF5, no actions, a group named actions
        return None
    return shape[1] if len(shape) == 2 else None


def check_arrays(path, arrays: dict, fix: str, action_dim: int | None = None) -> None:
    """UserError '<path>: <what is wrong>; <fix>' unless `arrays` (the VECTOR_KEYS, as read, before any cast) have
    the module docstring's ranks and kinds (float observations, actions and goals), one row count, at least one
    row, finite numbers and, when given, `action_dim` actions per row."""
    for key in VECTOR_KEYS:
        value = arrays[key]
        rank = 2 if key in MATRIX_KEYS else 1
        if value.ndim != rank:
            raise UserError(
                f"{path}: {key} has shape {value.shape}, expected one {'vector' if rank == 2 else 'value'}"
                f" per row; {fix}"
            )
        if value.dtype.kind not in DTYPE_KINDS[key]:
            wanted = "floats" if DTYPE_KINDS[key] == "f" else "numbers" if key == "rewards" else "booleans"
            raise UserError(f"{path}: {key} are stored as {value.dtype}, not {wanted}; {fix}")
    _check_lengths(path, arrays, fix)
    if len(arrays["actions"]) == 0:
        raise UserError(f"{path} holds no rows; {fix}")
    for key in NUMBER_KEYS:
        problem = non_finite(arrays[key])
        if problem:
            raise UserError(f"{path}: {key} hold {problem}; {fix}")
    width = arrays["actions"].shape[1]
    if action_dim is not None and width != action_dim:
        raise UserError(
            f"{path}: actions have {width} entries per row but this suite's have {action_dim} (it is "
            f"data of another environment); {fix}"
        )


def episode_bounds(terminals: np.ndarray, timeouts: np.ndarray) -> np.ndarray:
    """Row offsets (E+1,): trajectory i is rows [b[i], b[i+1]). A trailing unterminated tail is a trajectory too."""
    ends = np.flatnonzero(np.asarray(terminals, bool) | np.asarray(timeouts, bool)) + 1
    n = len(terminals)
    if len(ends) == 0 or ends[-1] != n:
        ends = np.append(ends, n)
    return np.concatenate([[0], ends]).astype(np.int64)


@dataclass
class ExpertData:
    """Arrays of one dataset (see the module docstring) and its trajectory boundaries."""

    observations: np.ndarray
    actions: np.ndarray
    goals: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    timeouts: np.ndarray
    path: Path
    images: "h5py.Dataset | None" = None  # streamed from the open file; call close() when done
    expert: str | None = None  # the expert recorded in the file (original | fixed), None when unrecorded

    def __post_init__(self):
        self.bounds = episode_bounds(self.terminals, self.timeouts)

    @property
    def num_trajectories(self) -> int:
        return len(self.bounds) - 1

    def __len__(self) -> int:
        return len(self.actions)

    def trajectory(self, i: int) -> dict[str, np.ndarray]:
        """The vector arrays of trajectory i (views, no copy)."""
        rows = slice(self.bounds[i], self.bounds[i + 1])
        return {key: getattr(self, key)[rows] for key in VECTOR_KEYS}

    def close(self) -> None:
        if self.images is not None:
            self.images.file.close()
            self.images = None


def read_dataset(
    path: str | Path,
    with_images: bool = False,
    fix: str = "delete it and distill or import it again",
    action_dim: int | None = None,
) -> ExpertData:
    """Read a distilled .hdf5 (or a legacy .npy dict). Raises UserError ending with `fix` for a corrupt or foreign
    file, or for arrays check_arrays refuses."""
    path = Path(path)
    if path.suffix == ".npy":
        return _read_legacy(path, fix, action_dim)
    handle = open_hdf5(path, fix)
    missing = [key for key in VECTOR_KEYS if key not in handle]
    if missing:
        handle.close()
        raise UserError(f"{path} lacks the keys {missing}; it is not an SFP dataset: {fix}")
    try:
        raw = {key: np.asarray(handle[key][()]) for key in VECTOR_KEYS}
    except (OSError, ValueError, TypeError) as err:
        handle.close()
        raise UserError(f"{path} is damaged ({one_line(err)}); {fix}") from None
    try:
        check_arrays(path, raw, fix, action_dim)
    except UserError:
        handle.close()
        raise
    arrays: dict[str, np.ndarray] = {key: raw[key].astype(DTYPES[key], copy=False) for key in VECTOR_KEYS}
    expert = recorded_expert(handle.attrs)
    images = handle[IMAGE_KEY] if with_images and IMAGE_KEY in handle else None
    if with_images and images is None:
        handle.close()
        raise UserError(f"{path} has no images; collect with --images and distill again")
    if images is None:
        handle.close()
    return ExpertData(**arrays, path=path, images=images, expert=expert)


def open_hdf5(path: Path, fix: str) -> h5py.File:
    """`path` opened for reading; a one-line UserError ending with `fix` for a directory or a non-HDF5 file."""
    if path.is_dir():
        raise UserError(f"{path} is a directory, not an HDF5 file; {fix}")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise UserError(f"{path} is not a readable HDF5 file ({one_line(err)}); {fix}") from None


def _read_legacy(path: Path, fix: str, action_dim: int | None) -> ExpertData:
    try:
        raw = np.load(path, allow_pickle=True).item()
        arrays = {
            "observations": raw["states"],
            "actions": raw["actions"],
            "goals": raw["goals"],
            "terminals": raw["terminals"],
            "timeouts": raw["timeouts"],
            "rewards": raw.get("rewards", np.zeros(len(raw["actions"]))),
        }
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise UserError(f"{path} is not a dataset dict of the original release ({err})") from None
    arrays = {key: np.asarray(value) for key, value in arrays.items()}
    check_arrays(path, arrays, fix, action_dim)
    arrays = {key: value.astype(DTYPES[key], copy=False) for key, value in arrays.items()}
    return ExpertData(**arrays, path=path, expert="original")


def _check_lengths(path: Path, arrays: dict[str, np.ndarray], fix: str) -> None:
    lengths = {key: len(value) for key, value in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise UserError(f"{path} is inconsistent: row counts {lengths}; {fix}")


def recorded_expert(attrs) -> str | None:
    """The expert a distilled file's attributes name; files distilled before experts were named (expert_version 2)
    came from the fixed maze expert; None when the file records no expert (imports, synthetic data)."""
    if "expert" in attrs:
        return str(attrs["expert"])
    return "fixed" if attrs.get("suite") == "point-maze" and "expert_version" in attrs else None


def load_dataset(name: str, with_images: bool = False) -> ExpertData:
    """The dataset of a data name (maze, maze-fixed, sawyer, hopper, ...): the .hdf5, else the original release's
    .npy. UserError if the file records another expert than the name says."""
    short, wanted = paths.split_data_name(name)
    fix = f"move it away and make it again with: {collect_command(name)}"
    for candidate in (paths.dataset_file(name), paths.legacy_dataset_file(name)):
        if candidate.exists():
            data = read_dataset(candidate, with_images, fix, ACTION_DIMS.get(short))
            if data.expert not in (None, wanted):
                data.close()
                own_name = paths.dataset_file(paths.data_name(short, data.expert)).name
                raise UserError(
                    f"{candidate} was made by the {data.expert!r} expert, not {wanted!r}: rename it to "
                    f"{own_name} and make {name!r} with: {collect_command(name)}"
                )
            return data
    raise UserError(no_dataset(name))


class RowRanges(Protocol):
    """An array-like of frames with a length, sliced by row ranges into arrays (an array, an h5py dataset, ...)."""

    def __len__(self) -> int: ...

    def __getitem__(self, rows: slice, /) -> np.ndarray: ...


def write_dataset(
    path: str | Path, arrays: dict[str, np.ndarray], images: RowRanges | None = None, attrs: dict | None = None
) -> Path:
    """Write a distilled dataset atomically (temporary file, then rename). `images` may be any array-like
    indexable by row ranges (it is copied in chunks). The arrays must pass check_arrays (callers check their
    sources first, with a fix of their own)."""
    path = Path(path)
    arrays = {key: np.asarray(arrays[key]) for key in VECTOR_KEYS}
    check_arrays(path, arrays, "nothing was written")
    arrays = {key: value.astype(DTYPES[key], copy=False) for key, value in arrays.items()}
    with paths.atomic_output(path) as tmp, h5py.File(tmp, "w") as handle:
        for key, value in arrays.items():
            handle.create_dataset(key, data=value, compression="gzip", compression_opts=1)
        if images is not None:
            frames = handle.create_dataset(
                IMAGE_KEY,
                shape=(len(images), *IMAGE_SHAPE),
                dtype=np.uint8,
                chunks=(1, *IMAGE_SHAPE),
                compression="gzip",
                compression_opts=1,
            )
            for start in range(0, len(images), 4096):
                frames[start : start + 4096] = images[start : start + 4096]
        for key, value in (attrs or {}).items():
            handle.attrs[key] = value
    return path
