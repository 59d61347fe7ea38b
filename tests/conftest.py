"""Shared test set-up: no test may touch the user's real dataset, prior or log directories."""
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Point $D4RL_DATASET_DIR, $SFP_FLOW_DIR and $SFP_LOG_DIR at fresh folders of this test."""
    for variable, name in (("D4RL_DATASET_DIR", "datasets"), ("SFP_FLOW_DIR", "flows"), ("SFP_LOG_DIR", "logs")):
        monkeypatch.setenv(variable, str(tmp_path / name))
    return tmp_path
