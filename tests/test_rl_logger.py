"""Run logger, run-directory guard and provenance."""

import json
import math

import numpy as np
import pytest
import torch

from sfp import paths
from sfp.errors import UserError
from sfp.provenance import git_state, write_provenance
from sfp.rl.logger import (
    COUNTER,
    MEAN,
    RL_ROW,
    STATS,
    EpochLogger,
    claim_run_dir,
    column_names,
    statistics,
)

SMALL_ROW = (("Epoch", COUNTER), ("EpRet", STATS), ("EpLen", MEAN), ("TotalEnvInteracts", COUNTER))


def read_progress(directory):
    lines = (directory / "progress.txt").read_text().splitlines()
    header = lines[0].split("\t")
    return header, [dict(zip(header, map(float, line.split("\t")))) for line in lines[1:]]


def test_statistics_cover_every_element_of_arrays():
    # a (2, 3) batch and a scalar: 7 elements; the original divided by the number of rows (the xA LogStd bug)
    values = [np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), 7.0]
    mean, std, high, low = statistics(values)
    assert mean == pytest.approx(4.0)
    assert std == pytest.approx(2.0)  # population std of 1..7
    assert (high, low) == (7.0, 1.0)
    assert all(math.isnan(v) for v in statistics([]))


def test_column_names_follow_the_reference_order():
    names = column_names(RL_ROW)
    assert names[:6] == ["Epoch", "AverageEpRet", "StdEpRet", "MaxEpRet", "MinEpRet", "AverageTestEpRet"]
    assert names.index("EpLen") < names.index("TotalEnvInteracts") < names.index("AverageQ1Vals")
    assert names[-10:] == [
        "LossPi",
        "LossQ",
        "LossLambda",
        "LossQSIL",
        "LossPiSIL",
        "Alpha",
        "LossAlpha",
        "Time",
        "SPS",
        "UpdatesPerSec",
    ]


def test_progress_rows_missing_keys_and_tensorboard(tmp_path):
    directory = paths.run_dir("exp", 3)
    logger = EpochLogger(directory, echo=False)
    logger.store(EpRet=1.0, EpLen=500)
    logger.store(EpRet=torch.tensor([3.0]), EpLen=300)
    logger.log_epoch(1, 4000, updates=3000)
    logger.store(EpLen=10)  # EpRet never stored in epoch 2
    with pytest.raises(ValueError, match="LossTypo"):
        logger.store(LossTypo=1.0)
    logger.log_epoch(2, 8000, updates=7000)
    logger.close()

    header, rows = read_progress(directory)
    assert header == column_names(RL_ROW)
    assert len(rows) == 2
    assert rows[0]["Epoch"] == 1 and rows[0]["TotalEnvInteracts"] == 4000
    assert rows[0]["AverageEpRet"] == 2.0 and rows[0]["MaxEpRet"] == 3.0 and rows[0]["EpLen"] == 400
    assert rows[0]["SPS"] > 0 and rows[0]["UpdatesPerSec"] > 0 and rows[1]["Time"] >= rows[0]["Time"]
    assert math.isnan(rows[1]["AverageEpRet"]) and math.isnan(rows[0]["AverageQ1Vals"])

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(directory))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("AverageEpRet")] == [(4000, 2.0)]
    assert [e.step for e in events.Scalars("EpLen")] == [4000, 8000]


def test_config_is_plain_and_sorted(tmp_path):
    logger = EpochLogger(tmp_path / "run", tensorboard=False, echo=False)
    path = logger.save_config({"seed": 1, "alpha": 0.2, "env": "corridor-v1"})
    assert json.loads(path.read_text()) == {"alpha": 0.2, "env": "corridor-v1", "seed": 1}
    assert list(json.loads(path.read_text())) == ["alpha", "env", "seed"]


def _three_epochs_checkpointed_at_two(directory):
    logger = EpochLogger(directory, spec=SMALL_ROW, tensorboard=False, echo=False)
    for epoch in (1, 2, 3):
        logger.store(EpRet=epoch, EpLen=epoch)
        logger.log_epoch(epoch, 100 * epoch)
        if epoch == 2:
            checkpoint = logger.state_dict()
    return checkpoint


DAMAGES = {
    "a row after the checkpoint": lambda text: text,  # the process ran on after its last checkpoint
    "cut mid-row": lambda text: text[:-7],
    "a row missing": lambda text: "".join(text.splitlines(keepends=True)[:2]),
    "an orphan's rows": lambda text: text + text.splitlines(keepends=True)[-1] * 2,
    "garbage": lambda text: "\x00\xff not a table",
    "deleted": None,
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_resume_rewrites_a_progress_file_that_differs_from_the_checkpoint(tmp_path, damage, capsys):
    directory = tmp_path / "run"
    checkpoint = _three_epochs_checkpointed_at_two(directory)
    progress = directory / "progress.txt"
    clean_two = "".join(progress.read_text().splitlines(keepends=True)[:3])
    if DAMAGES[damage] is None:
        progress.unlink()
    else:
        progress.write_text(DAMAGES[damage](progress.read_text()))
    resumed = EpochLogger(directory, spec=SMALL_ROW, tensorboard=False, echo=False)
    resumed.load_state_dict(checkpoint)
    assert progress.read_text() == clean_two  # repaired at once, before any new row
    assert "rewrote it with the checkpoint's 2 rows" in capsys.readouterr().out
    resumed.store(EpRet=30, EpLen=30)
    resumed.log_epoch(3, 300)
    _, rows = read_progress(directory)
    assert [row["Epoch"] for row in rows] == [1, 2, 3] and rows[2]["AverageEpRet"] == 30
    assert resumed.state_dict()["rows"] == progress.read_text().splitlines()[1:]


def test_resume_of_an_intact_file_writes_no_note_and_other_columns_are_refused(tmp_path, capsys):
    directory = tmp_path / "run"
    logger = EpochLogger(directory, spec=SMALL_ROW, tensorboard=False, echo=False)
    logger.log_epoch(1, 100)
    before = (directory / "progress.txt").read_bytes()
    EpochLogger(directory, spec=SMALL_ROW, tensorboard=False, echo=False).load_state_dict(logger.state_dict())
    assert (directory / "progress.txt").read_bytes() == before and "note" not in capsys.readouterr().out
    wider = EpochLogger(directory, spec=SMALL_ROW + (("LossQ", MEAN),), tensorboard=False, echo=False)
    with pytest.raises(UserError, match="other progress columns"):
        wider.load_state_dict(logger.state_dict())


def test_run_directory_guard(tmp_path):
    params = {"env": "corridor-v1", "seed": 0, "epochs": 5, "resume": False}
    directory = claim_run_dir(tmp_path / "run", params, resume=False)
    EpochLogger(directory, tensorboard=False, echo=False).save_config(params)
    with pytest.raises(UserError, match="--resume"):
        claim_run_dir(directory, params, resume=False)
    longer = {"env": "corridor-v1", "seed": 0, "epochs": 10, "resume": True}
    assert claim_run_dir(directory, longer, resume=True) == directory
    other = {"env": "room-v1", "seed": 0, "epochs": 5, "resume": True}
    with pytest.raises(UserError, match="exp_name"):
        claim_run_dir(directory, other, resume=True)
    with pytest.raises(UserError, match="nothing to resume"):
        claim_run_dir(tmp_path / "absent", params, resume=True)


def test_provenance_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prior = tmp_path / "prior.pt"
    prior.write_bytes(b"abc")
    assert git_state(tmp_path) is None
    record = write_provenance(tmp_path, {"prior": prior, "dataset": tmp_path / "missing.hdf5"}, source_dir=tmp_path)
    monkeypatch.setenv("PATH", "")  # no git executable at all
    write_provenance(tmp_path, {}, source_dir=tmp_path)
    history = json.loads((tmp_path / "provenance.json").read_text())
    assert len(history) == 2 and history[0] == record
    assert record["git"] is None
    assert record["files"]["prior"]["md5"] == "900150983cd24fb0d6963f7d28e17f72"  # md5("abc")
    assert record["files"]["dataset"]["md5"] is None
    assert record["versions"]["numpy"] == np.__version__


def test_provenance_inside_this_checkout():
    state = git_state()
    if state is None:
        pytest.skip("not running from a git checkout")
    assert len(state["commit"]) == 40 and isinstance(state["dirty"], bool)


def test_a_session_resumed_within_the_same_second_is_read_after_the_killed_one(tmp_path):
    """Tensorboard reads event files in name order; a killed session's file named in the same second with a
    process id that sorts later (9999999 after 100000, by name) must still be read first, and its events after the
    checkpoint hidden by the resumed session's purge step."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    directory = tmp_path / "run"
    killed = EpochLogger(directory, spec=SMALL_ROW, echo=False)
    for epoch in (1, 2, 3):
        killed.store(EpRet=epoch, EpLen=10 * epoch)
        killed.log_epoch(epoch, 100 * epoch)
        if epoch == 1:
            checkpoint = killed.state_dict()
    killed.close()
    (written,) = directory.glob("events.out.tfevents.*")
    written.rename(directory / f"{written.name.rsplit('.', 2)[0]}.9999999.0")  # pid 9999999: after 100000 by name

    resumed = EpochLogger(directory, spec=SMALL_ROW, echo=False)
    resumed.load_state_dict(checkpoint)
    for epoch in (2, 3):
        resumed.store(EpRet=epoch, EpLen=-epoch)  # other values than the killed session's
        resumed.log_epoch(epoch, 100 * epoch)
    resumed.close()

    events = EventAccumulator(str(directory))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("EpLen")] == [(100, 10.0), (200, -2.0), (300, -3.0)]
