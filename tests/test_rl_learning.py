"""A small learning problem that must actually learn: SAC + HER reaches the corners of the open room."""

import numpy as np
import pytest

from sfp import paths
from sfp.rl.params import load_rl_params
from sfp.rl.run import run

pytestmark = pytest.mark.slow  # small learning problems that must learn (make test-fast skips them)


def test_sac_her_learns_to_reach_room_corners():
    params, notes = load_rl_params(
        [
            "--env",
            "room-v1",
            "--epochs",
            "4",
            "--steps_per_epoch",
            "1000",
            "--start_steps",
            "500",
            "--update_after",
            "500",
            "--max_ep_len",
            "50",
            "--hid",
            "64",
            "--n_step_rew",
            "1",
            "--num_test_episodes",
            "10",
            "--num_threads",
            "1",
            "--exp_name",
            "learn",
        ]
    )
    run(params, notes)
    lines = (paths.run_dir("learn", 0) / "progress.txt").read_text().splitlines()
    header = lines[0].split("\t")
    success = np.array([float(line.split("\t")[header.index("AverageTestSuccessRate")]) for line in lines[1:]])
    assert success[0] <= 0.3, "the untrained policy should rarely reach a corner 18 units away in 50 steps"
    assert success[-1] >= 0.6, f"SAC+HER did not learn: test success per epoch {success}"
