"""Prior training survives any kill: a run stopped by kill -9, SIGTERM or Ctrl-C after some epoch and continued ends
with bitwise the same checkpoint and the same progress.txt as an uninterrupted run; a continuation with other
parameters, or with nothing to continue, is refused with one line."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from sfp import paths
from sfp.data.synthetic import write_persistent_dataset
from sfp.errors import UserError
from sfp.experiments.grid import Preparation, run_preparation
from sfp.priors.params import parse_train_params
from sfp.priors.training import checkpoint_path, train_prior
from sfp.priors.training_state import STATE_FILE
from sfp.run_lock import LOCKED_EXIT
from tests.tiny_runs import tiny_prior

ARGS = tiny_prior(epochs=5, batch_size=32, lr=0.001, patience=4)


@pytest.fixture
def dataset(isolated_dirs):
    (isolated_dirs / "datasets").mkdir()
    write_persistent_dataset(isolated_dirs / "datasets" / "maze_primitive.hdf5", 20, 80)
    return isolated_dirs


def saved_epoch(directory) -> int:
    try:
        return torch.load(directory / STATE_FILE, weights_only=True)["progress"]["epoch"]
    except (FileNotFoundError, RuntimeError, EOFError):
        return 0


def wait_for_epoch(directory, epoch: int, alive=lambda: True, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while saved_epoch(directory) < epoch:
        assert alive() and time.time() < deadline, "training ended before it could be interrupted"
        time.sleep(0.005)


def signal_after_epoch(directory, epoch: int, signum: int) -> threading.Thread:
    """Send `signum` to this process once the training state of `directory` holds `epoch` finished epochs."""

    def watch():
        wait_for_epoch(directory, epoch)
        os.kill(os.getpid(), signum)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def outcome(log_dir):
    """(the published checkpoint's weights, progress.txt) of the run logged in `log_dir`."""
    params = parse_train_params(ARGS)
    weights = torch.load(checkpoint_path(params), weights_only=True)["state_dict"]
    return weights, (log_dir / "progress.txt").read_text()


def uninterrupted(tmp_path, monkeypatch):
    """The same training, uninterrupted, with its own flow and log directories."""
    for variable, name in (("SFP_FLOW_DIR", "flows_ref"), ("SFP_LOG_DIR", "logs_ref")):
        monkeypatch.setenv(variable, str(tmp_path / name))
    result = train_prior(parse_train_params(ARGS))
    return outcome(result["log_dir"])


def assert_same(resumed, reference):
    (weights, progress), (ref_weights, ref_progress) = resumed, reference
    assert weights.keys() == ref_weights.keys()
    assert all(torch.equal(weights[key], ref_weights[key]) for key in weights)
    assert progress == ref_progress and len(progress.splitlines()) >= 4


def test_kill_9_then_rerun_continues_to_the_uninterrupted_result(dataset, tmp_path, monkeypatch, capsys):
    # four times the fixture's data: epochs long enough (about a second here) that the kill lands between epochs 2
    # and 5 even when the machine is busy and this process is scheduled late
    write_persistent_dataset(dataset / "datasets" / "maze_primitive.hdf5", 80, 80)
    base = paths.run_dir("flows_maze_flow_action_1", 1)
    process = subprocess.Popen(
        [sys.executable, "-m", "sfp.commands.train_prior", *ARGS],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_epoch(base, 2, alive=lambda: process.poll() is None)
    finally:
        process.kill()
        process.wait()
    killed_at = saved_epoch(base)
    assert 2 <= killed_at < 5 and not checkpoint_path(parse_train_params(ARGS)).exists()
    result = train_prior(parse_train_params(ARGS))  # no --resume needed: same parameters continue on their own
    assert result["log_dir"] == base
    assert f"continuing the unfinished run in {base} after epoch {killed_at}" in capsys.readouterr().out
    assert torch.load(base / STATE_FILE, weights_only=True)["finished"]
    assert_same(outcome(base), uninterrupted(tmp_path, monkeypatch))


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_exit_with_one_line_and_resume_exactly(
    dataset, tmp_path, monkeypatch, capsys, signum, status
):
    base = paths.run_dir("flows_maze_flow_action_1", 1)
    watcher = signal_after_epoch(base, 2, signum)
    with pytest.raises(SystemExit) as stop:
        train_prior(parse_train_params(ARGS))
    watcher.join()
    assert stop.value.code == status
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.endswith(f"stopped; run the same command again to continue from the last finished epoch ({base})")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers are put back
    result = train_prior(parse_train_params(ARGS + ["--resume", "True"]))
    assert result["log_dir"] == base
    assert_same(outcome(base), uninterrupted(tmp_path, monkeypatch))


def test_resume_with_other_parameters_is_refused_and_a_plain_run_starts_afresh(dataset):
    base = paths.run_dir("flows_maze_flow_action_1", 1)
    watcher = signal_after_epoch(base, 1, signal.SIGTERM)
    with pytest.raises(SystemExit):
        train_prior(parse_train_params(ARGS))
    watcher.join()
    with pytest.raises(UserError, match=r"was trained with --lr 0\.001 \(now 0\.002\); use the same values") as err:
        train_prior(parse_train_params(ARGS + ["--lr", "0.002", "--resume", "True"]))
    assert "\n" not in str(err.value)
    changed = train_prior(parse_train_params(ARGS + ["--lr", "0.002", "--epochs", "1"]))  # without --resume
    assert changed["log_dir"] == base.with_name(base.name + "_2")
    # epochs may change between sessions: the interrupted run continues and stops at the new --epochs
    extended = train_prior(parse_train_params(ARGS + ["--epochs", "3", "--resume", "True"]))
    assert extended["log_dir"] == base
    assert len((base / "progress.txt").read_text().splitlines()) == 1 + 3


def test_nothing_to_resume_is_one_line(dataset):
    with pytest.raises(UserError, match="nothing to resume: no unfinished training of this prior") as err:
        train_prior(parse_train_params(ARGS + ["--resume", "True"]))
    assert "\n" not in str(err.value) and "drop --resume True" in str(err.value)
    train_prior(parse_train_params(ARGS + ["--epochs", "1"]))
    with pytest.raises(UserError, match="nothing to resume"):  # a finished run is not continued
        train_prior(parse_train_params(ARGS + ["--epochs", "1", "--resume", "True"]))


def test_a_prior_being_trained_is_never_trained_twice_and_a_grid_waits_for_it(dataset, capsys, monkeypatch):
    """While one process trains a prior, a second training of the same prior stops with status 75 and one line
    naming the holder (no second run directory); a grid's preparation waits instead, and once the holder stops
    without a checkpoint, runs the command again, which continues the holder's run."""
    base = paths.run_dir("flows_maze_flow_action_1", 1)
    patient = [*ARGS, "--patience", "400"]
    long_run = [*patient, "--epochs", "400"]  # epochs may differ between the commands: the identity is the same
    holder = subprocess.Popen(
        [sys.executable, "-m", "sfp.commands.train_prior", *long_run],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_epoch(base, 1, alive=lambda: holder.poll() is None)
        second = subprocess.run(
            [sys.executable, "-m", "sfp.commands.train_prior", *patient, "--epochs", "3"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert holder.poll() is None, "the holder ended too soon for the check"
        assert second.returncode == LOCKED_EXIT, second.stderr
        line = second.stderr.strip()
        assert line.startswith("error: ") and "\n" not in line and "Traceback" not in line
        assert f"{base} is training this prior now (process {holder.pid} on " in line
        assert sorted(path.name for path in base.parent.iterdir()) == [base.name]

        real_sleep = time.sleep

        def holder_stops_while_the_grid_waits(seconds):  # it stops on SIGTERM and saves its last epoch
            if holder.poll() is None:
                holder.send_signal(signal.SIGTERM)
                while holder.poll() is None:  # (Popen.wait would sleep through this function)
                    real_sleep(0.05)
            real_sleep(seconds)

        monkeypatch.setattr(time, "sleep", holder_stops_while_the_grid_waits)
        run_preparation(
            Preparation(
                ["-m", "sfp.commands.train_prior", *patient, "--epochs", "3"], checkpoint_path(parse_train_params(ARGS))
            ),
            wait_seconds=0.5,
        )
    finally:
        holder.kill()
        holder.wait()
    assert holder.returncode == 143
    out = capsys.readouterr().out
    assert "== waiting for the other process to make" in out
    assert checkpoint_path(parse_train_params(ARGS)).exists()
    assert sorted(path.name for path in base.parent.iterdir()) == [base.name]  # the holder's run was continued
    assert torch.load(base / STATE_FILE, weights_only=True)["finished"]


def test_a_continued_run_hides_the_killed_sessions_epochs_in_tensorboard_even_within_one_second(tmp_path):
    """The killed session wrote epochs 1-3 but its state holds epoch 1; its event file is named in the same second
    with a process id that sorts later by name. Tensorboard must show epochs 2-3 of the continuation."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from sfp.priors.runlog import RunLog

    def row(epoch, loss):
        return {"epoch": epoch, "train_loss": loss, "val_loss": loss, "best_val_loss": loss}

    killed = RunLog(tmp_path)
    for epoch in (1, 2, 3):
        killed.row(row(epoch, float(epoch)))
    killed.close()
    (written,) = tmp_path.glob("events.out.tfevents.*")
    written.rename(tmp_path / f"{written.name.rsplit('.', 2)[0]}.9999999.0")  # pid 9999999: after 100000 by name

    continued = RunLog(tmp_path, [row(1, 1.0)])
    for epoch in (2, 3):
        continued.row(row(epoch, -float(epoch)))
    continued.close()

    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("val/loss")] == [(1, 1.0), (2, -2.0), (3, -3.0)]
    assert (tmp_path / "progress.txt").read_text().splitlines()[1:] == ["1\t1\t1\t1", "2\t-2\t-2\t-2", "3\t-3\t-3\t-3"]
