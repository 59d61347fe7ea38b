"""Resumable, parallel, atomic collection of expert trajectories, one piece file per trajectory.

$D4RL_DATASET_DIR/<name>_primitive/ (<name>: the expert's data name, sfp.paths.data_name: maze, maze-fixed, sawyer;
for a Gymnasium collection, sfp.data.gym_collection: pointmaze, fetch, or the --name of a user's expert) holds
  <name>_primitive_00042.npz    trajectory 42: the arrays of sfp.data.experts plus "meta", a JSON string
                                (suite, env, expert, index, seed, expert_version); zip-compressed with images
  collection.json               the options the folder's pieces were made with (a run with other options stops)
                                and num_trajs, the count the last collect command asked for (distill checks it);
                                a Gymnasium collection's also record env (its id as given), env_kwargs and name
  .<piece>.<pid>.tmp            a piece being written by process <pid>; renamed into place once complete
  .<piece>.claim                the pid of the process making that piece, so that concurrent collectors split work
Trajectory i depends only on (seed, i) through numpy's SeedSequence, never on which process makes it or when, so
a resumed, parallel or concurrent collection gives the same pieces as one uninterrupted run.
"""

import json
import multiprocessing
import os
import re
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from tqdm import tqdm

from sfp import paths
from sfp.data import dataset
from sfp.data.experts import EXPERT_VERSION, expert_for
from sfp.data.gym_collection import GYM_SUITE, GymCollection
from sfp.errors import UserError
from sfp.invocation import command

PIECE_NAME = re.compile(r"^(?P<name>[a-z0-9_-]+)_primitive_(?P<index>\d+)\.npz$")
TEMPORARY_NAME = re.compile(r"^\..+\.(?P<pid>\d+)\.tmp$")
MANIFEST = "collection.json"
WORKERS_PER_CORE = 4  # more processes than this only share the cores and memory
GYM_FIELDS = ("env", "env_kwargs", "name")  # the settings only Gymnasium collections record
MAX_TRAJ_LEN = 500  # both environments end their episodes after 500 steps (Meta-World refuses a 501st)


@dataclass(frozen=True)
class CollectionSettings:
    """What a folder of pieces is made with; every piece of one folder shares these."""

    suite: str
    seed: int
    traj_len: int
    images: bool
    expert: str = paths.DEFAULT_EXPERT
    expert_version: int = EXPERT_VERSION
    # a Gymnasium collection's only (suite "gym"; expert a built-in key or module:callable):
    env: str = ""  # the id as given to --env
    env_kwargs: dict = field(default_factory=dict)  # keyword arguments of gymnasium.make
    name: str = ""  # the data name

    def record(self) -> dict:
        """The manifest's content (without num_trajs): the suites' folders keep the fields they always had."""
        recorded = asdict(self)
        if self.suite != GYM_SUITE:
            for extra in GYM_FIELDS:
                del recorded[extra]
        return recorded


def maker_for(settings: CollectionSettings):
    """The expert object of a collection's settings: a suite's expert, or a GymCollection."""
    if settings.suite == GYM_SUITE:
        return GymCollection(settings.env, settings.expert, settings.name, settings.env_kwargs)
    return expert_for(settings.suite, settings.expert)


def collection_maker(suite: str, expert: str | None = None, name: str | None = None):
    """The expert object of a suite's collection (expert None: the original), or the GymCollection of a Gymnasium
    id (expert None: the id's built-in one; name None: the expert's data name)."""
    if suite in paths.SUITES and name is not None:
        raise UserError(f"--name is for Gymnasium collections; {suite}'s data name follows from --expert")
    if suite in paths.SUITES or expert in paths.EXPERTS:  # original | fixed name a suite's experts only
        return expert_for(suite, expert or paths.DEFAULT_EXPERT)
    return GymCollection(suite, expert, name)


def maker_options(maker) -> str:
    """The collect/distill options that name the collection of an expert object ('--env point-maze --expert ...')."""
    return maker.options if isinstance(maker, GymCollection) else dataset.script_options(maker.data_name)


@dataclass
class CollectionSummary:
    """What one `collect` call did. steps / rollout_seconds is the env-steps rate of one worker."""

    folder: Path
    requested: int
    already_done: int
    made: int = 0
    steps: int = 0
    rollout_seconds: float = 0.0
    wall_seconds: float = 0.0
    busy_elsewhere: list[int] = field(default_factory=list)

    @property
    def worker_steps_per_second(self) -> float:
        return self.steps / self.rollout_seconds if self.rollout_seconds else 0.0

    @property
    def wall_steps_per_second(self) -> float:
        return self.steps / self.wall_seconds if self.wall_seconds else 0.0


def piece_name(name: str, index: int) -> str:
    return f"{name}_primitive_{index:05d}.npz"


def finished_indices(folder: Path, name: str) -> set[int]:
    """Indices whose piece file of data name `name` exists in `folder` (temporary and claim files are hidden)."""
    found = set()
    for entry in os.scandir(folder):
        match = PIECE_NAME.match(entry.name)
        if match and match["name"] == name:
            found.add(int(match["index"]))
    return found


def trajectory_randomness(seed: int, index: int) -> tuple[int, np.random.Generator]:
    """(environment reset seed, expert generator) of trajectory `index`: a function of (seed, index) only."""
    sequence = np.random.SeedSequence([seed, index])
    env_seed = int(sequence.generate_state(1)[0])
    return env_seed, np.random.default_rng(sequence.spawn(1)[0])


def make_piece(expert, env, settings: CollectionSettings, index: int) -> dict[str, np.ndarray]:
    """Trajectory `index`: the expert's arrays plus "meta", a 0-d string array holding a JSON object with
    suite, env, expert, index, seed and expert_version."""
    env_seed, rng = trajectory_randomness(settings.seed, index)
    piece = expert.rollout(env, rng, env_seed, settings.traj_len, settings.images)
    meta = {
        "suite": expert.suite,
        "env": expert.env_name,
        "expert": expert.name,
        "index": index,
        "seed": settings.seed,
        "expert_version": settings.expert_version,
    }
    piece["meta"] = np.array(json.dumps(meta))
    return piece


def write_atomically(path: Path, write) -> None:
    """Call write(file object) on a temporary file beside `path`, then rename it into place."""
    with paths.atomic_output(path) as tmp, open(tmp, "wb") as handle:
        write(handle)


def write_piece(path: Path, piece: dict[str, np.ndarray]) -> None:
    """An .npz, compressed only when it holds images (small vector pieces are faster to write plain)."""
    save = np.savez_compressed if "images" in piece else np.savez
    # typed as Any: mypy would match **piece (arrays by name) against savez's allow_pickle: bool
    write_atomically(path, lambda handle: save(handle, **cast(dict[str, Any], piece)))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_path(piece: Path) -> Path:
    return piece.with_name(f".{piece.name}.claim")


def claim(piece: Path) -> bool:
    """Reserve `piece` for this process; False if a live process holds it. Claims of dead processes are taken.
    A claim file appears complete (holding the pid) or not at all: it is hard-linked from a written temporary."""
    path = claim_path(piece)
    tmp = paths.atomic_write_path(path)
    tmp.write_text(str(os.getpid()))
    try:
        for _ in range(2):
            try:
                os.link(tmp, path)
                return True
            except FileExistsError:
                if _claim_is_live(path):
                    return False
                path.unlink(missing_ok=True)
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _claim_is_live(path: Path) -> bool:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return False
    return text.isdigit() and pid_alive(int(text))


def release(piece: Path) -> None:
    claim_path(piece).unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporary files left by killed processes; returns how many."""
    removed = 0
    for entry in os.scandir(folder):
        match = TEMPORARY_NAME.match(entry.name)
        if match and not pid_alive(int(match["pid"])):
            Path(entry.path).unlink(missing_ok=True)
            removed += 1
    return removed


def read_manifest(folder: Path) -> dict | None:
    """The content of a folder's manifest: its settings plus "num_trajs", the count the last collect command asked
    for (absent in folders collected before it was recorded); None when there is none. A manifest that is not the
    record the collector writes (unreadable, not JSON, a suite or count of the wrong type) is a UserError: what the
    folder holds is then unknown, so nothing is distilled or added from it."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        recorded = None
    if not _is_manifest(recorded):
        raise UserError(
            f"{path} is damaged (not the record the collector writes): delete it and rerun the collect command, "
            "which records the collection again and makes only the trajectories that are missing"
        )
    return recorded


def _is_manifest(recorded) -> bool:
    """Whether `recorded` has the form the collector writes: a text suite, a positive count if any, and for a
    Gymnasium collection its env and expert as text."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("suite"), str):
        return False
    count = recorded.get("num_trajs", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        return False
    return recorded["suite"] != GYM_SUITE or all(isinstance(recorded.get(key), str) for key in ("env", "expert"))


def check_manifest(folder: Path, settings: CollectionSettings, num_trajs: int) -> None:
    """Record the settings of a new folder and the number of trajectories asked for (before any is made, so that
    distillation can tell an unfinished collection); stop if the folder was started with other settings."""
    path = folder / MANIFEST
    wanted = settings.record()
    if path.exists():
        recorded = read_manifest(folder)
        settings_recorded = {key: value for key, value in (recorded or {}).items() if key != "num_trajs"}
        if settings_recorded != wanted:
            other_name = " (or give this one another --name)" if settings.suite == GYM_SUITE else ""
            raise UserError(
                f"{folder} holds pieces made with {settings_recorded or recorded} but this run asks for {wanted}; "
                f"rerun with the recorded options, or move that folder away to start a new collection{other_name}"
            )
        assert recorded is not None  # else settings_recorded == {} != wanted raised above
        if recorded.get("num_trajs") == num_trajs:
            return
    content = json.dumps({**wanted, "num_trajs": num_trajs}, indent=1).encode()
    write_atomically(path, lambda handle: handle.write(content))


def collect_command(manifest: dict, data_name: str) -> str:
    """The collect command line that made (or continues) the folder of `manifest` (see read_manifest)."""
    if manifest.get("suite") == GYM_SUITE:
        options = GymCollection(
            manifest["env"], manifest["expert"], data_name, manifest.get("env_kwargs")
        ).collect_options
    else:
        options = dataset.script_options(data_name)
    line = (
        f"{command('sfp-collect')} {options} --num_trajs {manifest['num_trajs']} "
        f"--traj_len {manifest['traj_len']} --seed {manifest['seed']}"
    )
    return line + (" --images" if manifest["images"] else "")


def max_workers() -> int:
    """The most collection processes allowed: WORKERS_PER_CORE per core this process may run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return WORKERS_PER_CORE * cores


def check_options(num_trajs: int, traj_len: int, workers: int, seed: int) -> None:
    if num_trajs < 1:
        raise UserError(f"--num_trajs {num_trajs} must be at least 1")
    if not 2 <= traj_len <= MAX_TRAJ_LEN:
        raise UserError(
            f"--traj_len {traj_len} must be between 2 and {MAX_TRAJ_LEN} (the environments' episode length)"
        )
    if workers < 1:
        raise UserError(f"--workers {workers} must be at least 1")
    if workers > max_workers():
        raise UserError(
            f"--workers {workers} is more than this machine can run: use at most {max_workers()} "
            f"({WORKERS_PER_CORE} per available core; one per core is fastest)"
        )
    if seed < 0:
        raise UserError(f"--seed {seed} must be a non-negative integer")


class PieceMaker:
    """Makes pieces in one process; builds its environment once, on first use."""

    def __init__(self, settings: CollectionSettings, folder: Path):
        self.settings = settings
        self.folder = Path(folder)
        self.expert = maker_for(settings)
        self.env = None

    def make(self, index: int) -> tuple[int, bool, int, float]:
        """(index, made, env steps, seconds). made is False when another process holds or finished it."""
        path = self.folder / piece_name(self.expert.data_name, index)
        if not claim(path):
            return index, False, 0, 0.0
        try:
            if path.exists():
                return index, False, 0, 0.0
            if self.env is None:
                self.env = self.expert.make_env()
            start = time.perf_counter()
            write_piece(path, make_piece(self.expert, self.env, self.settings, index))
            return index, True, self.settings.traj_len, time.perf_counter() - start
        finally:
            release(path)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None


_WORKER: PieceMaker | None = None


def _start_worker(settings: CollectionSettings, folder: Path) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    _WORKER = PieceMaker(settings, folder)


def _make_in_worker(index: int) -> tuple[int, bool, int, float]:
    assert _WORKER is not None  # set by the pool initializer _start_worker
    return _WORKER.make(index)


def _results(todo: list[int], settings: CollectionSettings, folder: Path, workers: int):
    """Yield PieceMaker.make results for `todo`, in this process or in a spawn-safe pool of `workers`."""
    if workers == 1:
        maker = PieceMaker(settings, folder)
        try:
            yield from map(maker.make, todo)
        finally:
            maker.close()
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(settings, folder)) as pool:
        yield from pool.imap_unordered(_make_in_worker, todo)


def collect(
    suite: str,
    num_trajs: int = 4000,
    traj_len: int = 500,
    workers: int = 1,
    images: bool = False,
    seed: int = 0,
    folder: Path | None = None,
    progress: bool = True,
    expert: str = paths.DEFAULT_EXPERT,
) -> CollectionSummary:
    """Make every missing piece 0..num_trajs-1 of `suite`'s `expert` in `folder` (default: paths.pieces_dir)."""
    check_options(num_trajs, traj_len, workers, seed)
    maker = expert_for(suite, expert)
    settings = CollectionSettings(suite, seed, traj_len, images, expert)
    return _collect(maker, settings, num_trajs, workers, folder, progress)


def collect_gym(
    env: str,
    expert: str | None = None,
    num_trajs: int = 4000,
    traj_len: int | None = None,
    workers: int = 1,
    seed: int = 0,
    folder: Path | None = None,
    progress: bool = True,
    env_kwargs: dict | None = None,
    name: str | None = None,
    images: bool = False,
) -> CollectionSummary:
    """Like `collect`, in the Gymnasium environment `env` (an id, module:id to import its module first) made with
    `env_kwargs`, with `expert`: a built-in one (pointmaze, fetch; by default the id's) or a user's module:callable
    (sfp.data.gym_collection). traj_len None: the environment's episode length, at most MAX_TRAJ_LEN. The options,
    the expert (imported, made, its first action checked) and the environment are checked before any work."""
    check_options(num_trajs, traj_len if traj_len is not None else MAX_TRAJ_LEN, workers, seed)
    if images:
        raise UserError("--images: frames are stored for the built-in suites (point-maze, meta-world) only")
    maker = GymCollection(env, expert, name, env_kwargs)
    version = maker.version  # imports the expert
    probe = maker.make_env()
    try:
        episode = int(probe.max_steps)
        if traj_len is None:
            traj_len = min(episode, MAX_TRAJ_LEN)
        elif traj_len > episode:
            raise UserError(
                f"--traj_len {traj_len} is longer than the episodes of {env} ({episode} steps); ask for longer "
                f"ones with --env_kwargs '{{\"max_episode_steps\": {traj_len}}}'"
            )
        check_options(num_trajs, traj_len, workers, seed)
        maker.try_first_step(probe, *trajectory_randomness(seed, 0))
    finally:
        probe.close()
    settings = CollectionSettings(
        GYM_SUITE, seed, traj_len, False, maker.name, version, env, maker.env_kwargs, maker.data_name
    )
    return _collect(maker, settings, num_trajs, workers, folder, progress)


def _collect(
    maker, settings: CollectionSettings, num_trajs: int, workers: int, folder: Path | None, progress: bool
) -> CollectionSummary:
    """Make the missing pieces of a checked collection (see collect)."""
    name = maker.data_name
    folder = Path(folder) if folder is not None else paths.pieces_dir(name, create=True)
    folder.mkdir(parents=True, exist_ok=True)
    check_manifest(folder, settings, num_trajs)
    remove_stale_temporaries(folder)
    done = finished_indices(folder, name)
    todo = [index for index in range(num_trajs) if index not in done]
    summary = CollectionSummary(folder, num_trajs, num_trajs - len(todo))
    if not todo:
        return summary
    workers = min(workers, len(todo))
    start = time.perf_counter()
    with tqdm(total=len(todo), unit="traj", desc=f"{name} trajectories", disable=not progress) as bar:
        for index, made, steps, seconds in _results(todo, settings, folder, workers):
            if made:
                summary.made += 1
                summary.steps += steps
                summary.rollout_seconds += seconds
            elif not (folder / piece_name(name, index)).exists():
                summary.busy_elsewhere.append(index)
            elapsed = time.perf_counter() - start
            bar.set_postfix_str(f"{summary.steps / max(elapsed, 1e-9):,.0f} env steps/s", refresh=False)
            bar.update()
    summary.wall_seconds = time.perf_counter() - start
    return summary


def describe(
    summary: CollectionSummary, suite: str, expert: str | None = paths.DEFAULT_EXPERT, name: str | None = None
) -> str:
    """The lines a user reads after a collection: what was made, where, and the next command (suite: a suite or,
    with expert and name as given to collect_gym, a Gymnasium id)."""
    lines = [
        f"{summary.made} trajectories made ({summary.already_done} of {summary.requested} were already "
        f"there) in {summary.folder}"
    ]
    if summary.made:
        lines.append(
            f"{summary.steps:,} env steps in {summary.wall_seconds:.1f} s "
            f"({summary.wall_steps_per_second:,.0f} steps/s; {summary.worker_steps_per_second:,.0f} "
            f"per worker)"
        )
    if summary.busy_elsewhere:
        lines.append(
            f"{len(summary.busy_elsewhere)} trajectories are being made by another running collector; "
            f"run this command again once it has finished"
        )
    lines.append(f"next: {command('sfp-distill')} {maker_options(collection_maker(suite, expert, name))}")
    return "\n".join(lines)
