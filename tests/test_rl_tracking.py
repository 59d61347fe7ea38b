"""--track True: Weights & Biases in offline mode (no network); what the offline run inside the run directory holds."""

import json
import math
import struct
import sys

import imageio.v2 as imageio
import numpy as np
import pytest

import main
from sfp import paths
from sfp.experiments.grid import grid
from sfp.rl.params import RLParams
from sfp.rl.tracking import STATE_FILE, WandbTracker
from tests.tiny_runs import tiny_run

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402

TINY = tiny_run(epochs=2, steps_per_epoch=150, start_steps=60, update_after=50, update_every=25, max_ep_len=100)
BLOCK = 32 * 1024  # the .wandb file is a LevelDB-style log: 32 KiB blocks of records with 7-byte headers


def wandb_records(path):
    """The protobuf records of a .wandb file, in order (record types FULL=1, FIRST=2, MIDDLE=3, LAST=4)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    position, pending = 7, b""
    while position + 7 <= len(data):
        if BLOCK - position % BLOCK < 7:  # a block's tail too short for a header is padding
            position += BLOCK - position % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if length == 0 and kind == 0:
            position += BLOCK - position % BLOCK
            continue
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def nested(items) -> dict:
    """History items (a key path and a JSON value each) as a nested {key: value} dict."""
    row = {}
    for item in items:
        *parents, last = list(item.nested_key) or [item.key]
        target = row
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = json.loads(item.value_json)
    return row


def offline_runs(directory):
    """[(run record, [history rows {key: value}])] of every offline W&B session under <run>/wandb/."""
    wandb.teardown()  # W&B's service process writes the files: wait until it has flushed them and stopped
    sessions = []
    for file in sorted(directory.glob("wandb/offline-run-*/run-*.wandb")):
        run, rows = None, []
        for record in wandb_records(file):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                run = record.run
            elif kind == "history":
                rows.append(nested(record.history.item))
        sessions.append((run, rows))
    return sessions


def progress_rows(directory):
    header, *rows = [line.split("\t") for line in (directory / "progress.txt").read_text().splitlines()]
    return [dict(zip(header, map(float, row))) for row in rows]


def same_number(a, b):
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """W&B offline, an empty working directory to check that nothing lands there."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield cwd
    wandb.teardown()  # W&B keeps its settings per process: the next test starts from its own environment


def test_tracked_run_logs_config_progress_columns_and_videos_inside_the_run_directory(offline):
    main.main(TINY + ["--exp_name", "tracked", "--track", "True", "--wandb_group", "g1", "--video_freq", "2"])
    directory = paths.run_dir("tracked", 0)
    assert list(offline.iterdir()) == []
    [(run, history)] = offline_runs(directory)
    assert (run.project, run.run_group, run.display_name) == ("sfp", "g1", directory.name)
    assert run.run_id == json.loads((directory / STATE_FILE).read_text())["id"]
    config = {item.key: json.loads(item.value_json) for item in run.config.update if item.key != "_wandb"}
    assert config == json.loads((directory / "config.json").read_text())

    progress = progress_rows(directory)
    assert len(history) == len(progress) == 2
    for logged, row in zip(history, progress):
        assert set(row) <= set(logged)
        for column, value in row.items():
            if column != "Time":  # Time is rounded to 8 digits in progress.txt
                assert same_number(float(logged[column]), value), column
    assert [row["TotalEnvInteracts"] for row in history] == [150, 300]
    assert "video" not in history[0] and history[1]["video"]["caption"] == "epoch_2"  # --video_freq's file


def test_resume_continues_the_same_wandb_run_without_logging_an_epoch_twice(offline):
    argv = TINY + ["--exp_name", "tracked", "--track", "True"]
    main.main(argv + ["--epochs", "1", "--save_freq", "1"])
    main.main(argv + ["--resume", "True"])
    directory = paths.run_dir("tracked", 0)
    first, second = offline_runs(directory)
    assert first[0].run_id == second[0].run_id
    assert [row["TotalEnvInteracts"] for row in first[1]] == [150]
    assert [row["TotalEnvInteracts"] for row in second[1]] == [300]
    assert list(offline.iterdir()) == []


def test_a_new_video_in_the_run_directory_is_logged_with_the_next_row(offline, tmp_path):
    directory = tmp_path / "run_s0"
    directory.mkdir()
    params = RLParams(track=True, env="corridor-v1")
    tracker = WandbTracker(params, directory)
    tracker.log_row({"Epoch": 1.0, "AverageTestEpRet": 0.5}, 100)
    (directory / "videos").mkdir()
    frames = np.zeros((8, 32, 48, 3), np.uint8)
    frames[:, :, :16] = 255
    imageio.mimwrite(directory / "videos" / "epoch_2.mp4", frames, fps=8, macro_block_size=16)
    tracker.log_row({"Epoch": 2.0, "AverageTestEpRet": 0.7}, 200)
    tracker.log_row({"Epoch": 3.0, "AverageTestEpRet": 0.9}, 300)
    tracker.close()
    [(_, history)] = offline_runs(directory)
    assert ["video" in row for row in history] == [False, True, False]
    video = history[1]["video"]
    assert video["_type"] == "video-file" and video["caption"] == "epoch_2"
    stored = list(directory.glob("wandb/offline-run-*/files/" + video["path"]))
    assert len(stored) == 1 and stored[0].stat().st_size == (directory / "videos" / "epoch_2.mp4").stat().st_size
    assert list(offline.iterdir()) == []


def test_track_without_wandb_installed_stops_with_one_line_before_any_work(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` now fails as if it were not installed
    with pytest.raises(SystemExit) as exit_info:
        main.main(TINY + ["--exp_name", "untracked", "--track", "True"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install "sfp[track]"' in err[0]
    assert not paths.run_dir("untracked", 0).exists()


def test_online_without_a_login_stops_with_one_line(monkeypatch, tmp_path, capsys):
    for variable in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc: nobody is logged in
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    wandb.teardown()
    with pytest.raises(SystemExit):
        main.main(TINY + ["--exp_name", "nologin", "--track", "True"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "wandb login" in err[0] and "WANDB_MODE=offline" in err[0]


def test_a_tracked_grid_puts_its_runs_in_one_wandb_group():
    spec = {"name": "maze", "tasks": ["corridor-v1"], "methods": ["sac"], "seeds": [0, 1], "params": {"epochs": 2}}
    assert all("--wandb_group" not in run.argv for run in grid(spec))
    tracked = grid({**spec, "params": {"epochs": 2, "track": True}})
    assert all(run.argv[run.argv.index("--wandb_group") + 1] == "maze" for run in tracked)
    named = grid({**spec, "params": {"track": True, "wandb_group": "mine"}})
    assert all(run.argv.count("--wandb_group") == 1 and "mine" in run.argv for run in named)
