"""Conditioning windows: hand-worked rows, no window crosses a trajectory, splits, data_ratio, streamed images."""

import numpy as np
import pytest
import torch

from sfp.data.dataset import ExpertData, read_dataset
from sfp.data.synthetic import persistent_action_arrays, write_persistent_dataset
from sfp.errors import UserError
from sfp.priors.windows import (
    build_samples,
    check_mode,
    condition_shape,
    conditions,
    split_trajectories,
    window_rows,
)

torch.set_num_threads(1)


def tiny_data(lengths=(3, 5, 4)):
    """Trajectories of the given lengths; action row i = (i, 10 + i), observation i = 100 + i, goal i = 200 + i."""
    rows = sum(lengths)
    index = np.arange(rows, dtype=np.float32)
    timeouts = np.zeros(rows, bool)
    timeouts[np.cumsum(lengths) - 1] = True
    return ExpertData(
        observations=100 + index[:, None],
        actions=np.stack([index, 10 + index], 1),
        goals=200 + index[:, None],
        rewards=np.zeros(rows),
        terminals=np.zeros(rows, bool),
        timeouts=timeouts,
        path=None,
    )


def test_window_rows_by_hand():
    assert window_rows(np.array([0, 3]), np.array([3, 8]), 1).tolist() == [1, 2, 4, 5, 6, 7]
    assert window_rows(np.array([0, 3]), np.array([3, 8]), 3).tolist() == [6, 7]
    assert window_rows(np.array([0]), np.array([2]), 2).tolist() == []


@pytest.mark.parametrize(
    "mode,n_step", [("action", 1), ("action", 2), ("state", 2), ("state+goal", 1), ("action+state", 2)]
)
def test_windows_stay_inside_their_trajectory(mode, n_step):
    data = tiny_data()
    samples = build_samples(data, np.arange(3), mode, n_step, False)
    rows = samples.actions[:, 0].numpy().astype(int)
    trajectory = np.searchsorted(data.bounds, rows, side="right") - 1
    first = rows - (n_step if "action" in mode else n_step - 1)
    assert (first >= data.bounds[trajectory]).all()
    offset = n_step if "action" in mode else n_step - 1
    assert len(samples) == sum(length - offset for length in (3, 5, 4))
    assert samples.conds.shape == (len(samples), condition_shape(data, mode, n_step, False)[0])


def test_condition_layouts_by_hand():
    data = tiny_data()
    row = np.array([6])  # third action of the second trajectory (rows 3..7)
    assert conditions(data, "action", 2, row).tolist() == [[4, 14, 5, 15]]
    assert conditions(data, "action+state", 2, row).tolist() == [[4, 14, 5, 15, 106, 206]]
    assert conditions(data, "state", 2, row).tolist() == [[105, 106]]
    assert conditions(data, "state+goal", 2, row).tolist() == [[105, 205, 106, 206]]


def test_one_step_samples_every_action_without_condition():
    data = tiny_data()
    samples = build_samples(data, np.arange(3), "action", 1, True)
    assert samples.conds is None and len(samples) == 12
    assert condition_shape(data, "action", 1, True) == ()


def test_split_is_by_trajectory_and_data_ratio_keeps_the_epoch_size():
    train, val, full = split_trajectories(20, 1.0, False)
    assert train.tolist() == list(range(18)) and val.tolist() == [18, 19] and full == 18
    train, val, full = split_trajectories(20, 0.25, False)
    assert train.tolist() == [0, 1, 2, 3] and val.tolist() == [18, 19]
    assert split_trajectories(100, 1.0, True)[0].tolist() == list(range(9))
    with pytest.raises(UserError, match="fewer than 2 trajectories"):
        split_trajectories(1, 1.0, False)
    data = tiny_data((10,) * 20)
    reduced = build_samples(data, train, "action", 1, False, full_trajectories=np.arange(full))
    assert len(reduced) == 4 * 9 and reduced.epoch_size == 18 * 9
    batches = list(reduced.batches(50, torch.Generator().manual_seed(0)))
    assert sum(len(action) for action, _ in batches) == 18 * 9


def test_modes_the_dataset_cannot_serve_are_refused():
    arrays = persistent_action_arrays(3, 10)
    arrays["goals"] = np.zeros((30, 0))
    data = ExpertData(**arrays, path="no-goals.hdf5")
    with pytest.raises(UserError, match="no goals"):
        check_mode(data, "state+goal")
    with pytest.raises(UserError, match="no images"):
        check_mode(data, "image")
    with pytest.raises(UserError, match="n_step"):
        build_samples(tiny_data(), np.arange(3), "action", 5, False)


def test_image_samples_stream_frames_of_their_rows(tmp_path):
    path = write_persistent_dataset(tmp_path / "maze_primitive.hdf5", 4, 6, images=True)
    data = read_dataset(path, with_images=True)
    samples = build_samples(data, np.arange(4), "image", 1, False)
    index = torch.tensor([5, 0, 5])
    actions, frames = samples.batch(index)
    assert frames.shape == (3, 3, 64, 64) and frames.dtype == torch.float32
    assert torch.equal(frames[0], frames[2])
    for i, row in enumerate(samples.image_rows[[5, 0]]):
        assert torch.equal(frames[i], torch.from_numpy(data.images[row]).float() / 255)
        assert torch.equal(actions[i], torch.from_numpy(data.actions[row]))
    data.close()
