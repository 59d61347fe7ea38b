"""provenance.json: what produced a run (code version, library versions, machine, input files).

The file holds a JSON list with one record per start of the run (a resumed run appends a record):
  {"date": ISO-8601 UTC, "hostname", "git": {"commit", "dirty"} or null outside a checkout or without git,
   "versions": {python, torch, numpy, gymnasium, mujoco, metaworld} (null when not installed),
   "files": {label: {"path", "md5"}} with md5 null for a file that does not exist}
"""

import datetime
import json
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

from sfp.paths import file_md5, write_json

PROVENANCE_FILE = "provenance.json"
SOURCE_DIR = Path(__file__).resolve().parent.parent
LIBRARIES = ("torch", "numpy", "gymnasium", "mujoco", "metaworld")


def git_state(source_dir: str | Path = SOURCE_DIR) -> dict | None:
    """{"commit": sha, "dirty": bool} of the checkout holding `source_dir`; None without git or outside one."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=source_dir, capture_output=True, text=True, check=True, timeout=30
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def library_versions() -> dict[str, str | None]:
    """Installed versions (read from package metadata, so nothing heavy is imported)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance_record(files: dict[str, str | Path | None], source_dir: str | Path = SOURCE_DIR) -> dict:
    """One record (see the module docstring). files: {label: path} of the inputs used, e.g. dataset, prior."""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "git": git_state(source_dir),
        "versions": library_versions(),
        "files": {
            label: {"path": str(path), "md5": file_md5(path) if Path(path).is_file() else None}
            for label, path in files.items()
            if path is not None
        },
    }


def write_provenance(
    directory: str | Path, files: dict[str, str | Path | None], source_dir: str | Path = SOURCE_DIR
) -> dict:
    """Append a provenance record to <directory>/provenance.json (created if missing). Returns the record."""
    path = Path(directory) / PROVENANCE_FILE
    try:
        history = json.loads(path.read_text()) if path.exists() else []
    except json.JSONDecodeError:
        history = []
    if not isinstance(history, list):
        history = []
    record = provenance_record(files, source_dir)
    write_json(path, history + [record])
    return record
