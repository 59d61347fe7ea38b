"""Faults a run must survive: kill -9 at random moments, a second writer, a damaged progress.txt, SIGTERM, Ctrl-C.

Each killed or stopped run is continued with --resume True and must then hold the same progress.txt as one
uninterrupted run of the same seed (time columns aside), with no epoch twice in tensorboard.
"""

import functools
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import main
from sfp import paths
from sfp.rl.params import load_rl_params
from sfp.rl.run import run
from sfp.run_lock import LOCK_FILE, LOCKED_EXIT, RunLocked, hold_run_lock
from tests.tiny_runs import tiny_run

REPO = Path(__file__).resolve().parent.parent
# 3 epochs of 150 steps, episodes of 100 steps: every epoch ends mid-episode, updates start in epoch 1
TINY = tiny_run(epochs=3, steps_per_epoch=150, start_steps=60, update_after=50, update_every=25, max_ep_len=100)
VOLATILE = ("Time", "SPS", "UpdatesPerSec")
WAIT = 180.0  # seconds a child may take to get somewhere on a loaded machine


def _run(argv):
    params, notes = load_rl_params(argv)
    return run(params, notes)


def _table(name) -> tuple[list[str], np.ndarray]:
    """progress.txt of run `name` without its time columns: (header, rows)."""
    header, *rows = [line.split("\t") for line in (paths.run_dir(name, 0) / "progress.txt").read_text().splitlines()]
    keep = [i for i, column in enumerate(header) if column not in VOLATILE]
    return [header[i] for i in keep], np.array([[float(row[i]) for i in keep] for row in rows])


@functools.cache
def _reference() -> tuple[list[str], np.ndarray]:
    """The uninterrupted run (computed once, in the log directory of the first test that asks)."""
    _run(TINY + ["--exp_name", "reference"])
    return _table("reference")


def _assert_like_reference(name, context=""):
    header, rows = _table(name)
    ref_header, ref_rows = _reference()
    assert header == ref_header
    np.testing.assert_array_equal(rows, ref_rows, err_msg=context)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(paths.run_dir(name, 0)))
    events.Reload()
    assert [event.step for event in events.Scalars("Epoch")] == [150, 300, 450], context


def _start(argv, tmp_path, tag) -> subprocess.Popen:
    """main.py in a child process (same log directories), output in <tmp>/<tag>.out/.err."""
    with open(tmp_path / f"{tag}.out", "w") as out, open(tmp_path / f"{tag}.err", "w") as err:
        child = subprocess.Popen([sys.executable, "main.py", *argv], cwd=REPO, stdout=out, stderr=err)
    child.output = lambda: (tmp_path / f"{tag}.out").read_text() + (tmp_path / f"{tag}.err").read_text()
    return child


def _wait_for(condition, child):
    deadline = time.monotonic() + WAIT
    while not condition():
        assert child.poll() is None, f"the child ended (status {child.returncode}) too early:\n{child.output()}"
        assert time.monotonic() < deadline, f"timed out:\n{child.output()}"
        time.sleep(0.05)


def _rows_logged(name) -> int:
    path = paths.run_dir(name, 0) / "progress.txt"
    return max(len(path.read_text().splitlines()) - 1, 0) if path.exists() else 0


def _sessions(name) -> int:
    """Starts of run `name` so far (provenance.json gets a record each time a process has claimed the run)."""
    path = paths.run_dir(name, 0) / "provenance.json"
    return path.read_text().count('"hostname"') if path.exists() else 0


def test_kill_9_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    delays = (rng.uniform(0.0, 1.0), rng.uniform(0.0, 3.0))  # the first falls before the run's first checkpoint
    context = f"random seed {seed}, kills {delays} s after each start"
    argv = TINY + ["--exp_name", "killed"]
    for session, delay in enumerate(delays, start=1):
        child = _start(argv + ["--resume", str(session > 1)], tmp_path, f"session{session}")
        _wait_for(lambda started=session: _sessions("killed") == started, child)
        time.sleep(delay)
        child.kill()
        assert child.wait() in (-signal.SIGKILL, 0), f"{context}\n{child.output()}"
    _run(argv + ["--resume", "True"])
    _assert_like_reference("killed", context)


def test_a_second_writer_is_refused_and_ctrl_c_exits_130(tmp_path, capsys):
    argv = TINY + ["--exp_name", "shared"]
    first = _start(argv, tmp_path, "first")
    _wait_for(lambda: _sessions("shared") == 1, first)
    for extra in (["--resume", "True"], []):  # a resume and a fresh start on the held directory
        with pytest.raises(SystemExit) as refused:
            main.main(argv + extra)
        assert refused.value.code == LOCKED_EXIT
        message = capsys.readouterr().err.strip()
        assert len(message.splitlines()) == 1 and f"process {first.pid} on " in message, message
    _wait_for(lambda: _rows_logged("shared") >= 1, first)
    first.send_signal(signal.SIGINT)
    assert first.wait(WAIT) == 130, first.output()
    assert "continue with --resume True" in first.output()
    assert str(first.pid) in (paths.run_dir("shared", 0) / LOCK_FILE).read_text()  # the refused ones wrote nothing
    _run(argv + ["--resume", "True"])
    _assert_like_reference("shared")


def test_sigterm_saves_exits_143_and_resumes_exactly(tmp_path):
    argv = TINY + ["--exp_name", "terminated"]
    child = _start(argv, tmp_path, "terminated")
    _wait_for(lambda: _rows_logged("terminated") >= 1, child)
    child.terminate()
    assert child.wait(WAIT) == 128 + signal.SIGTERM, child.output()
    assert "SIGTERM" in child.output() and "continue with --resume True" in child.output()
    _run(argv + ["--resume", "True"])
    _assert_like_reference("terminated")


def test_a_progress_file_cut_mid_row_is_rebuilt_from_the_checkpoint(capsys):
    argv = TINY + ["--exp_name", "damaged"]
    _run(argv + ["--epochs", "2"])
    progress = paths.run_dir("damaged", 0) / "progress.txt"
    text = progress.read_text()
    progress.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2])  # the last row cut in half
    capsys.readouterr()
    _run(argv + ["--resume", "True"])  # 3 epochs now
    assert "rewrote it with the checkpoint's 2 rows" in capsys.readouterr().out
    _assert_like_reference("damaged")


def test_the_run_lock_names_its_holder_and_a_failed_start_leaves_no_directory(tmp_path):
    directory = tmp_path / "run"
    with hold_run_lock(directory) as path:
        assert path.read_text() == f"{os.getpid()} {socket.gethostname()}\n"
        with (
            pytest.raises(RunLocked, match=f"being written by process {os.getpid()} on ") as refused,
            hold_run_lock(directory),
        ):
            pass
        assert refused.value.exit_code == LOCKED_EXIT == 75
    with hold_run_lock(directory):  # released when the holder's block ended
        pass
    with pytest.raises(ValueError), hold_run_lock(tmp_path / "new"):
        raise ValueError
    assert not (tmp_path / "new").exists() and directory.exists()
