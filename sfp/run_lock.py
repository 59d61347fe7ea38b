"""One writer per run directory (RL runs and prior trainings): an advisory lock held by the process for the whole
life of the run.

`hold_run_lock(directory)` takes an exclusive `fcntl.flock` on <directory>/run.lock before anything in the
directory is written, and writes "<pid> <hostname>" into it. The kernel drops the lock when the process ends in any
way (kill -9 included), so a crashed run never leaves its directory stuck. A second process asking for the lock of
a held directory gets `RunLocked`, one line naming the holder, which main.py turns into exit status LOCKED_EXIT.
flock is advisory and per host: on a network file system shared by several machines it depends on the server's
lock support (NFSv4 and Lustre with flock enabled honour it).
"""

import fcntl
import os
import shutil
import socket
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from sfp.errors import UserError

LOCK_FILE = "run.lock"
LOCKED_EXIT = 75  # EX_TEMPFAIL: another process writes this run; try again once it has stopped


class RunLocked(UserError):
    """Another live process holds the run directory's lock."""

    exit_code = LOCKED_EXIT


def _holder(path: Path) -> str:
    try:
        pid, _, host = path.read_text().strip().partition(" ")
    except OSError:
        return "another process"
    return f"process {pid} on {host}" if pid else "another process"


def holder_of(path: str | Path) -> str | None:
    """Who holds the lock of `path` right now ("process <pid> on <host>"), or None if nobody does or there is no
    such file. Only looks: takes nothing and writes nothing."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(Path(path))
    finally:
        os.close(fd)  # closing drops a lock taken here
    return None


def _locked(path: Path, holder: str) -> RunLocked:
    return RunLocked(f"{path.parent} is being written by {holder}; wait for it to stop (or stop it), then run again")


def refuse_if_held(directory: str | Path) -> None:
    """RunLocked if a live process holds the lock of run `directory` now (a check before start-up work; the lock
    itself is taken by hold_run_lock). Writes nothing."""
    path = Path(directory) / LOCK_FILE
    holder = holder_of(path)
    if holder is not None:
        raise _locked(path, holder)


def _acquire(path: Path) -> int:
    """An open descriptor of `path` holding its exclusive lock, or RunLocked. Retries when the file was replaced
    between open and lock (a cleanup of a failed start), so the lock always belongs to the file at `path`."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _locked(path, _holder(path)) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _claim(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)


def try_lock(path: Path):
    """An open file holding the exclusive lock of `path` (keep it, or use it as a context manager, while the lock is
    needed), or None while another process holds it. Used by prior training, whose runs skip a held directory."""
    try:
        fd = _acquire(Path(path))
    except RunLocked:
        return None
    _claim(fd)
    return os.fdopen(fd, "r+")


def _make(directory: Path) -> bool:
    """Create `directory` (and its parents); True if this call made it. One-line errors."""
    try:
        directory.mkdir(parents=True)
        return True
    except FileExistsError:
        if not directory.is_dir():
            raise UserError(f"{directory} is a file, not a run directory: move that file away") from None
        return False
    except OSError as err:
        raise UserError(
            f"{directory} cannot be created ({err.strerror}); point $SFP_LOG_DIR at a writable folder"
        ) from None


@contextmanager
def hold_run_lock(directory: str | Path, disposable: Callable[[str], bool] = lambda name: False):
    """Hold the lock of run `directory` (created if missing) inside the block. If the block fails in a directory
    this call created, and the directory holds nothing but the lock file and entries `disposable(name)` accepts
    (what a start writes before its first result), the directory is removed again: the corrected command finds
    no leftover in its way."""
    directory = Path(directory)
    created = _make(directory)
    path = directory / LOCK_FILE
    fd = _acquire(path)
    try:
        _claim(fd)
        yield path
    except BaseException:
        if created and all(entry.name == LOCK_FILE or disposable(entry.name) for entry in directory.iterdir()):
            shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        os.close(fd)
