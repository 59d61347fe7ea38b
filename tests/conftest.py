"""Shared test set-up: no test may touch the user's real dataset, prior or log directories, nor anything under the
home directory (W&B's and matplotlib's caches and settings included)."""

import os
import tempfile

os.environ.setdefault("MUJOCO_GL", "egl")
# Caches and settings that libraries keep under ~ (matplotlib's font cache, pip's) go to a directory of this
# session, set before the first import and removed at the end; W&B's go to each test's own (isolated_dirs).
SESSION_DIR = tempfile.TemporaryDirectory(prefix="sfp-tests-")
for _variable in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
    os.environ[_variable] = os.path.join(SESSION_DIR.name, _variable.lower())

import gymnasium.logger  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
# gymnasium wraps its warnings' text in terminal colour codes, which pytest's warnings summary prints raw
gymnasium.logger.colorize = lambda text, *args, **kwargs: text

WANDB_DIRS = ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Point $D4RL_DATASET_DIR, $SFP_FLOW_DIR, $SFP_LOG_DIR and every directory W&B writes to (its debug logs go to
    $WANDB_CACHE_DIR/wandb/logs) at fresh folders of this test, with W&B offline."""
    for variable, name in (("D4RL_DATASET_DIR", "datasets"), ("SFP_FLOW_DIR", "flows"), ("SFP_LOG_DIR", "logs")):
        monkeypatch.setenv(variable, str(tmp_path / name))
    for variable in WANDB_DIRS:
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    return tmp_path
