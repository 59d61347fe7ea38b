"""The peer reference sb3_sac: Stable-Baselines3's SAC + HER run by the grid launcher, logged like our runs."""

import json
import signal
import time

import numpy as np
import pytest

from sfp.errors import UserError
from sfp.experiments.analysis import read_run
from sfp.experiments.grid import grid, load_spec
from sfp.experiments.launchers import LocalBackend, drive, spawn
from sfp.rl.params import load_rl_params
from sfp.rl.peer_sac import check_peer_params

pytest.importorskip("stable_baselines3")

SPEC = (
    "name: peer\ntasks: [room-v1]\nmethods: [sb3_sac]\nseeds: [0]\n"
    "params: {epochs: 3, steps_per_epoch: 300, start_steps: 500, num_test_episodes: 2}\n"
)


def test_the_grid_runs_sb3_sac_into_a_run_directory_like_ours_and_resumes_it(tmp_path, capsys):
    path = tmp_path / "peer.yaml"
    path.write_text(SPEC)
    (run,) = grid(load_spec(path))
    assert run.command == "sfp.commands.train_sb3"
    # stopped by SIGTERM once its first checkpoint exists, then resumed by the same grid
    process = spawn(run, run.argv)
    while not (run.directory / "checkpoint.pt").exists() and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait() == 143
    assert drive([run], 3, LocalBackend(1), poll_seconds=1) == 0
    assert "peer__room-v1__sb3_sac_s0: resumed" in capsys.readouterr().out
    log = read_run(run.directory)
    assert log.method == "sb3_sac" and log.task == "room-v1" and list(log.steps) == [300, 600, 900]
    assert len(log.commits) == 2  # two starts, one provenance record each
    columns = log.columns
    assert list(columns["TestEpLen"]) == [500] * 3  # the maze's own 500-step limit
    for column in ("LossQ", "LossPi", "Alpha", "AverageTestSuccessRate"):
        assert np.all(np.isfinite(columns[column][1:])), column
    assert np.isfinite(columns["AverageEpRet"][-1])  # a training episode ended in the last epoch
    assert 0 < columns["Alpha"][-1] < 1  # autotuned from SB3's initial 1.0
    config = json.loads((run.directory / "config.json").read_text())
    assert config["epochs"] * config["steps_per_epoch"] == 900 and config["sb3"]["batch_size"] == 256


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--alpha", "0.05"], "--alpha is not one of its parameters"),
        (["--use_prior", "True"], "--use_prior is not one of its parameters"),
        (["--env", "hopper-sparse"], "needs a goal-conditioned task"),
        (["--start_steps", "499"], "--start_steps 499 must be at least the 500 steps of a room-v1 episode"),
    ],
)
def test_parameters_sb3_sac_would_ignore_are_refused(flags, message):
    params, _ = load_rl_params(["--env", "room-v1", *flags])
    with pytest.raises(UserError, match=message):
        check_peer_params(params)
