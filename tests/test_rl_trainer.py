"""The downstream-RL loop on the point maze: what a run leaves behind, exact resume, clear errors."""

import itertools
import os
import signal

import numpy as np
import pytest

import main
from sfp import paths
from sfp.errors import UserError
from sfp.rl.agent import SACAgent
from sfp.rl.params import load_rl_params
from sfp.rl.run import run
from tests.tiny_runs import tiny_run

# Small but complete: 2 epochs of 150 steps, episodes of 100 steps (so epochs end mid-episode), real updates.
TINY = tiny_run(epochs=2, steps_per_epoch=150, start_steps=60, update_after=50, update_every=25, max_ep_len=100)
VOLATILE = ("Time", "SPS", "UpdatesPerSec")


def _run(argv):
    params, notes = load_rl_params(argv)
    return run(params, notes)


def _progress(name):
    path = paths.run_dir(name, 0) / "progress.txt"
    header, *rows = [line.split("\t") for line in path.read_text().splitlines()]
    keep = [i for i, column in enumerate(header) if column not in VOLATILE]
    return [header[i] for i in keep], np.array([[float(row[i]) for i in keep] for row in rows])


def test_a_run_leaves_progress_config_tensorboard_and_checkpoint():
    trainer = _run(TINY + ["--exp_name", "plain"])
    directory = paths.run_dir("plain", 0)
    header, rows = _progress("plain")
    assert rows.shape[0] == 2 and rows[:, header.index("Epoch")].tolist() == [1.0, 2.0]
    assert rows[:, header.index("TotalEnvInteracts")].tolist() == [150.0, 300.0]
    assert trainer.updates > 0 and np.isfinite(rows[-1, header.index("LossQ")])
    for name in ("config.json", "provenance.json", "checkpoint.pt"):
        assert (directory / name).exists(), name
    assert list(directory.glob("events.out.tfevents.*"))


def test_resume_after_an_epoch_gives_the_same_numbers_as_one_run():
    _run(TINY + ["--exp_name", "whole"])
    _run([*TINY, "--exp_name", "split", "--epochs", "1"])
    _run([*TINY, "--exp_name", "split", "--resume", "True"])
    header, whole = _progress("whole")
    _, split = _progress("split")
    np.testing.assert_array_equal(whole, split)


def test_ctrl_c_mid_episode_saves_and_resume_continues_exactly(monkeypatch):
    _run(TINY + ["--exp_name", "whole"])
    from sfp.rl import trainer as trainer_module

    original_step = trainer_module.Trainer._step

    def step_then_interrupt(self):
        original_step(self)
        if self.t == 210:  # mid-episode, mid-epoch, after updates have started
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(trainer_module.Trainer, "_step", step_then_interrupt)
    interrupted = _run(TINY + ["--exp_name", "split"])
    assert not interrupted.finished and interrupted.t == 210 and interrupted.exit_status == 130
    monkeypatch.setattr(trainer_module.Trainer, "_step", original_step)
    _run(TINY + ["--exp_name", "split", "--resume", "True"])
    _, whole = _progress("whole")
    _, split = _progress("split")
    np.testing.assert_array_equal(whole, split)


def test_update_rounds_due_before_the_first_episode_are_owed_and_survive_a_resume(monkeypatch):
    # with update_after 10 a round falls due every 25 steps from t = 25; the first episode is stored at t = 100, so
    # the rounds of t = 25, 50, 75 are owed and run then, with t = 100's own: 12 rounds of 25 updates in 300 steps
    early = TINY + ["--update_after", "10"]
    whole = _run(early + ["--exp_name", "whole"])
    assert whole.updates == 12 * 25 and whole.owed_rounds == 0
    header, rows = _progress("whole")
    assert np.isfinite(rows[0, header.index("LossQ")])
    from sfp.rl import trainer as trainer_module
    from sfp.rl.checkpoint import load_checkpoint

    original_step = trainer_module.Trainer._step

    def step_then_interrupt(self):
        original_step(self)
        if self.t == 90:  # three rounds owed, none run yet
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(trainer_module.Trainer, "_step", step_then_interrupt)
    _run(early + ["--exp_name", "split"])
    saved = load_checkpoint(paths.run_dir("split", 0))
    assert (saved["owed_rounds"], saved["updates"]) == (3, 0)
    monkeypatch.setattr(trainer_module.Trainer, "_step", original_step)
    _run(early + ["--exp_name", "split", "--resume", "True"])
    np.testing.assert_array_equal(_progress("split")[1], rows)


def test_a_finished_run_is_never_overwritten():
    _run(TINY + ["--exp_name", "keep"])
    with pytest.raises(UserError, match="already holds a run"):
        _run(TINY + ["--exp_name", "keep"])


def test_missing_prior_names_the_command_before_any_step(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main.main(TINY + ["--use_prior", "True", "--exp_name", "noprior"])
    assert exit_info.value.code == 2
    assert "flows/train.py" in capsys.readouterr().err
    assert not paths.run_dir("noprior", 0).exists()


def _losses_become_nan(monkeypatch, first: int) -> None:
    """From the agent's `first`-th gradient step on, every loss it reports is NaN."""
    original, calls = SACAgent.update, itertools.count(1)

    def update(self, batch):
        info, priorities = original(self, batch)
        return ({key: float("nan") for key in info} if next(calls) >= first else info), priorities

    monkeypatch.setattr(SACAgent, "update", update)


@pytest.mark.parametrize(
    "first_nan, save_freq, kept",
    [
        (1, 1, "it had saved nothing yet, and its directory"),  # before the first row: the directory is removed
        (150, 0, "it had saved no checkpoint yet (nothing to resume); its logs are in"),  # in epoch 2, no checkpoint
        (150, 1, "the last checkpoint in"),  # in epoch 2, after epoch 1's checkpoint
    ],
)
def test_a_non_finite_loss_says_what_the_run_kept(monkeypatch, capsys, first_nan, save_freq, kept):
    _losses_become_nan(monkeypatch, first_nan)
    with pytest.raises(SystemExit) as exit_info:
        main.main(TINY + ["--exp_name", "nan", "--save_freq", str(save_freq)])
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith("error: ") and "became non-finite at step" in line and kept in line, line
    directory = paths.run_dir("nan", 0)
    assert directory.exists() == (first_nan > 1)
    assert (directory / "checkpoint.pt").exists() == (first_nan > 1 and save_freq > 0)
