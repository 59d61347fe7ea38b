"""Distillation: verify every piece of a collection, then merge them in index order into one dataset file.

Reads $D4RL_DATASET_DIR/<name>_primitive/<name>_primitive_<index>.npz (written by sfp.data.collector; <name> is the
expert's data name, sfp.paths.data_name) and writes $D4RL_DATASET_DIR/<name>_primitive.hdf5 with
sfp.data.dataset.write_dataset (images, when collected, are streamed piece by piece, never all in memory). The file's
attributes record suite, short, data_name, expert, env, num_trajectories, traj_len, seed, expert_version, images,
indices (e.g. "0-3999") and pieces_hash, a hash of the pieces' names and content checksums (their zip CRCs, read
without decompressing).

Every piece is checked before anything is written: readable, all keys, shapes, dtypes, finite values, exactly
one trajectory end (at its last row), its recorded suite, expert and index, and the same length, dimensions, seed
and expert version as the other pieces: pieces of two experts are never merged. A bad piece stops distillation
with its file name; deleting it and re-running the collector redoes just that index. A collection with fewer
pieces than its collect command asked for (recorded in collection.json: killed, unfinished or pieces deleted) is
refused with the command that finishes it, unless allow_partial (--allow_partial) accepts the pieces present; gaps
in a folder that records no count are reported and the pieces present are distilled. An existing output made from
the same pieces is kept; otherwise it is replaced (it is derived data: the pieces stay).

A Gymnasium collection (sfp.data.gym_collection; distill(<id>, expert=..., name=...)) is checked the same way, its
widths against each other (its environment is not made), its pieces' env against the id; its file records suite
"gym", gym_expert (the expert, built-in key or module:callable) and env_kwargs (JSON) instead of expert, which
names a suite's expert variant only (original | fixed), and the describe lines give its action statistics
(sfp.data.statistics).
"""

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from sfp import paths
from sfp.data import dataset
from sfp.data.collector import MANIFEST, PIECE_NAME, collect_command, collection_maker, maker_options, read_manifest
from sfp.data.gym_collection import GYM_SUITE, GymCollection, bare_id
from sfp.data.statistics import action_statistics, describe_statistics
from sfp.errors import UserError
from sfp.finite import non_finite
from sfp.invocation import command

META_KEYS = ("suite", "env", "expert", "index", "seed", "expert_version")
MATRIX_KEYS = ("observations", "actions", "goals")
SHARED_PROPERTIES = ("traj_len", "widths", "env", "expert", "seed", "expert_version", "images")


@dataclass
class DistillSummary:
    """What one `distill` call did; status is 'written', 'replaced' or 'unchanged'."""

    output: Path
    status: str
    num_trajectories: int
    rows: int
    replaced: str = ""
    missing: list[int] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    statistics: dict[str, float] | None = None  # of a Gymnasium collection (sfp.data.statistics)


def list_pieces(folder: Path, name: str, how: str | None = None) -> tuple[list[tuple[int, Path]], list[str]]:
    """(pieces sorted by index, names of unrelated files). A piece of another suite or expert is an error. how:
    the command that makes the collection (default: dataset.collect_command of the name)."""
    how = how or dataset.collect_command(name)
    if not folder.is_dir():
        raise UserError(f"no collection in {folder}; make one with: {how}")
    pieces, ignored = [], []
    for path in sorted(folder.iterdir()):
        match = PIECE_NAME.match(path.name)
        if match and match["name"] != name:
            raise UserError(f"{path} belongs to other data ({match['name']}, not {name}); move it out of {folder}")
        if match:
            pieces.append((int(match["index"]), path))
        elif not path.name.startswith(".") and path.name != MANIFEST:
            ignored.append(path.name)
    if not pieces:
        raise UserError(f"{folder} holds no trajectories; make them with: {how}")
    return sorted(pieces), ignored


def index_ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'."""
    ranges, start = [], None
    for position, index in enumerate(indices):
        if start is None:
            start = index
        if position + 1 == len(indices) or indices[position + 1] != index + 1:
            ranges.append(str(start) if start == index else f"{start}-{index}")
            start = None
    return ", ".join(ranges)


def piece_error(path: Path, problem: str, expert) -> UserError:
    return UserError(
        f"{path}: {problem}; delete it and re-run {command('sfp-collect')} "
        f"{maker_options(expert)} (with the same options), which redoes just that "
        f"trajectory"
    )


def pieces_hash(pieces: list[tuple[int, Path]], expert) -> str:
    """md5 over every piece's name and its members' CRCs and sizes (cheap: no decompression)."""
    digest = hashlib.md5()
    for _, path in pieces:
        try:
            with zipfile.ZipFile(path) as archive:
                members = sorted((info.filename, info.CRC, info.file_size) for info in archive.infolist())
        except (OSError, zipfile.BadZipFile) as err:
            raise piece_error(path, f"is not a readable piece ({err})", expert) from None
        digest.update(repr((path.name, members)).encode())
    return digest.hexdigest()


def read_piece(path: Path, index: int, expert) -> dict:
    """The verified vector arrays of one piece plus 'properties' (what it must share with the other pieces).
    Its images, if any, are decompressed and checked, then dropped."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in (*dataset.VECTOR_KEYS, "meta") if key not in archive.files]
            if missing:
                raise piece_error(path, f"lacks the keys {missing}", expert)
            piece = {key: archive[key] for key in dataset.VECTOR_KEYS}
            meta = json.loads(str(archive["meta"]))
            images = archive[dataset.IMAGE_KEY] if dataset.IMAGE_KEY in archive.files else None
    except UserError:
        raise
    except Exception as err:  # any failure to decompress or parse means a torn or corrupt file
        raise piece_error(path, f"is unreadable ({type(err).__name__}: {err})", expert) from None
    if not isinstance(meta, dict) or set(meta) != set(META_KEYS):
        raise piece_error(path, f"has metadata {meta!r}, expected the fields {list(META_KEYS)}", expert)
    check_piece(path, piece, meta, images, index, expert)
    piece["properties"] = {
        "traj_len": len(piece["actions"]),
        "widths": tuple(piece[key].shape[1] for key in MATRIX_KEYS),
        "images": images is not None,
        **{key: meta[key] for key in ("env", "expert", "seed", "expert_version")},
    }
    return piece


def check_piece(path: Path, piece: dict, meta: dict, images: np.ndarray | None, index: int, expert) -> None:
    """Raise a UserError naming `path` for the first problem found."""
    suite = expert.suite
    if meta["suite"] != suite:
        raise piece_error(path, f"was collected for suite {meta['suite']!r}, not {suite!r}", expert)
    if meta["expert"] != expert.name:
        raise piece_error(
            path,
            f"was made by the {meta['expert']!r} expert, not {expert.name!r} (the data of two experts never mix)",
            expert,
        )
    if meta["index"] != index:
        raise piece_error(path, f"holds trajectory {meta['index']}, not {index}", expert)
    if suite == GYM_SUITE and bare_id(str(meta["env"])) != bare_id(expert.env_name):
        raise UserError(
            f"{path} was collected in {meta['env']}, not {expert.env_name}: distill it with --env {meta['env']}, or "
            f"move the piece out of {path.parent} if it does not belong there"
        )
    for key in dataset.VECTOR_KEYS:
        expected_ndim = 2 if key in MATRIX_KEYS else 1
        if piece[key].ndim != expected_ndim:
            raise piece_error(
                path,
                f"{key} has shape {piece[key].shape}, expected one "
                f"{'vector' if expected_ndim == 2 else 'scalar'} per row",
                expert,
            )
    row_counts = {key: len(piece[key]) for key in dataset.VECTOR_KEYS}
    rows = row_counts["actions"]
    if len(set(row_counts.values())) != 1 or rows == 0:
        raise piece_error(path, f"its arrays have different or zero row counts {row_counts}", expert)
    for key, width in zip(MATRIX_KEYS, expert.dims or ()):  # a GymCollection's widths are compared between pieces
        if piece[key].shape[1] != width:
            raise piece_error(
                path, f"{key} has {piece[key].shape[1]} entries per row, expected {width} for {suite}", expert
            )
    for key in dataset.VECTOR_KEYS:
        value = piece[key]
        if value.dtype != dataset.DTYPES[key]:
            raise piece_error(path, f"{key} has dtype {value.dtype}, expected {np.dtype(dataset.DTYPES[key])}", expert)
        problem = non_finite(value)
        if problem:
            raise piece_error(path, f"{key} hold non-finite values: {problem}", expert)
    ends = np.flatnonzero(piece["terminals"] | piece["timeouts"])
    if ends.tolist() != [rows - 1]:
        raise piece_error(
            path, f"has trajectory ends at rows {ends.tolist()}, expected exactly one at row {rows - 1}", expert
        )
    if images is not None and (images.shape != (rows, *dataset.IMAGE_SHAPE) or images.dtype != np.uint8):
        raise piece_error(
            path, f"images have shape {images.shape} {images.dtype}, expected ({rows}, 3, 64, 64) uint8", expert
        )


class PieceImages:
    """The images of all pieces as one (N, 3, 64, 64) uint8 array-like, read piece by piece on slicing."""

    def __init__(self, paths_in_order: list[Path], rows_per_piece: int):
        self.paths = paths_in_order
        self.rows_per_piece = rows_per_piece
        self._cached: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.paths) * self.rows_per_piece

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, _ = rows.indices(len(self))
        parts = []
        while start < stop:
            number, offset = divmod(start, self.rows_per_piece)
            take = min(self.rows_per_piece - offset, stop - start)
            parts.append(self._piece(number)[offset : offset + take])
            start += take
        return np.concatenate(parts) if parts else np.empty((0, *dataset.IMAGE_SHAPE), np.uint8)

    def _piece(self, number: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != number:
            with np.load(self.paths[number], allow_pickle=False) as archive:
                self._cached = (number, archive[dataset.IMAGE_KEY])
        return self._cached[1]


def existing_hash(output: Path) -> tuple[str | None, str]:
    """(pieces_hash of an existing output or None, a description of it for the user). An output that distillation
    did not make (imported data, or a file of the user's) is never replaced: a UserError says to move it away."""
    if not output.exists():
        return None, ""
    try:
        with h5py.File(output, "r") as handle:
            recorded = handle.attrs.get("pieces_hash")
            count = handle.attrs.get("num_trajectories", "?")
    except OSError:
        return None, f"{output} (unreadable)"
    if recorded is None:
        raise UserError(
            f"{output} exists and was not made from collected pieces (imported or older data): distilling would "
            f"replace it; move it away first (mv {output} {output.with_suffix('.old.hdf5')}) or collect under "
            "another name"
        )
    return str(recorded), f"{output} (made from {count} trajectories, pieces hash {str(recorded)[:10]})"


def distill(
    suite: str,
    folder: Path | None = None,
    output: Path | None = None,
    progress: bool = True,
    expert: str | None = None,
    allow_partial: bool = False,
    name: str | None = None,
) -> DistillSummary:
    """Verify every piece of `suite`'s `expert` and merge them into the dataset file (see the module docstring).
    A collection with fewer pieces than it asked for is refused unless `allow_partial`. suite may be a Gymnasium
    id, with the expert (None: the id's built-in one) and data name (None: the expert's) it was collected with."""
    maker = collection_maker(suite, expert, name)
    name = maker.data_name
    folder = Path(folder) if folder is not None else paths.pieces_dir(name)
    output = Path(output) if output is not None else paths.dataset_file(name)
    gym = isinstance(maker, GymCollection)
    old_hash, old_description = existing_hash(output)
    how = f"{command('sfp-collect')} {maker.options}" if gym else None
    pieces, ignored = list_pieces(folder, name, how)
    indices = [index for index, _ in pieces]
    manifest = read_manifest(folder)
    if manifest is None and gym and not allow_partial:
        raise UserError(
            f"{folder} has no {MANIFEST}, so whether its collection is complete is unknown: rerun its collect "
            f"command ({how} with the same --num_trajs), which records it, or pass --allow_partial"
        )
    manifest = manifest or {}
    asked = manifest.get("num_trajs")
    missing = sorted(set(range(max(indices[-1] + 1, asked or 0))) - set(indices))
    if missing and asked and not allow_partial:
        raise UserError(
            f"{folder} holds {len(pieces)} of the {asked} trajectories its collection asked for "
            f"(missing: {index_ranges(missing)}): finish it with the same collect command, "
            f"{collect_command(manifest, name)}, then distill again; or pass --allow_partial to "
            f"distill the {len(pieces)} present"
        )
    digest = pieces_hash(pieces, maker)
    if old_hash == digest:
        statistics = action_statistics(dataset.read_dataset(output)) if gym else None
        return DistillSummary(
            output, "unchanged", len(pieces), 0, missing=missing, ignored=ignored, statistics=statistics
        )

    arrays: dict[str, np.ndarray] = {}  # made when the first piece is read
    reference: tuple[Path, dict] | None = None
    for number, (index, path) in enumerate(tqdm(pieces, desc="verifying pieces", unit="piece", disable=not progress)):
        piece = read_piece(path, index, maker)
        properties = piece["properties"]
        if reference is None:
            reference = (path, properties)
            rows = properties["traj_len"]
            arrays = {
                key: np.empty((len(pieces) * rows, *piece[key].shape[1:]), dataset.DTYPES[key])
                for key in dataset.VECTOR_KEYS
            }
        for key in SHARED_PROPERTIES:
            if properties[key] != reference[1][key]:
                raise piece_error(
                    path,
                    f"has {key} = {properties[key]} but {reference[0].name} has "
                    f"{reference[1][key]}: pieces of one collection must agree",
                    maker,
                )
        for key in dataset.VECTOR_KEYS:
            arrays[key][number * rows : (number + 1) * rows] = piece[key]

    assert reference is not None  # list_pieces found at least one piece
    shared = reference[1]
    images = PieceImages([path for _, path in pieces], rows) if shared["images"] else None
    attrs = {
        "suite": suite,
        "short": maker.short,
        "data_name": maker.data_name,
        "expert": maker.name,
        "env": shared["env"],
        "num_trajectories": len(pieces),
        "traj_len": rows,
        "seed": shared["seed"],
        "expert_version": shared["expert_version"],
        "images": shared["images"],
        "indices": index_ranges(indices),
        "pieces_hash": digest,
    }
    statistics = None
    if gym:
        del attrs["expert"]  # the data name alone names gym data (load_dataset reads no expert variant of it)
        attrs.update(suite=GYM_SUITE, gym_expert=maker.name, env_kwargs=json.dumps(manifest.get("env_kwargs") or {}))
        statistics = action_statistics(arrays)
    output.parent.mkdir(parents=True, exist_ok=True)
    dataset.write_dataset(output, arrays, images=images, attrs=attrs)
    status = "replaced" if old_description else "written"
    return DistillSummary(
        output, status, len(pieces), len(pieces) * rows, old_description, missing, ignored, statistics
    )


def describe(summary: DistillSummary, suite: str, expert: str | None = None, name: str | None = None) -> str:
    """The lines a user reads after distillation (suite, expert, name: as given to distill)."""
    lines = []
    if summary.ignored:
        lines.append(f"ignored files that are not pieces: {', '.join(summary.ignored)}")
    if summary.missing:
        lines.append(
            f"warning: trajectories {index_ranges(summary.missing)} are missing (collection unfinished or "
            f"pieces deleted); distilling the {summary.num_trajectories} present. To fill the gaps: "
            f"{command('sfp-collect')} {maker_options(collection_maker(suite, expert, name))} "
            f"(same options), then distill again"
        )
    if summary.status == "unchanged":
        lines.append(
            f"{summary.output} is up to date (made from these {summary.num_trajectories} pieces); nothing to do"
        )
    else:
        if summary.status == "replaced":
            lines.append(f"replaced {summary.replaced}")
        lines.append(f"wrote {summary.output}: {summary.num_trajectories} trajectories, {summary.rows:,} rows")
    if summary.statistics is not None:
        data_name = collection_maker(suite, expert, name).data_name
        lines.append(f"{describe_statistics(summary.statistics)} ({command('sfp-data-statistics')} {data_name})")
    return "\n".join(lines)
