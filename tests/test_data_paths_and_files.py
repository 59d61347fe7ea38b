"""Shared file names and the dataset format."""

import numpy as np
import pytest

from sfp import paths
from sfp.data import dataset
from sfp.errors import UserError


def test_directories_follow_environment_variables(isolated_dirs):
    assert paths.dataset_dir() == isolated_dirs / "datasets"
    assert not paths.flow_dir().exists()
    assert paths.flow_dir(create=True).is_dir()
    assert paths.run_dir("exp", 3) == isolated_dirs / "logs" / "exp_s3"


def test_short_names():
    assert paths.short_name("point-maze") == "maze"
    assert paths.short_name("meta-world") == "sawyer"
    assert paths.short_name("hopper") == "hopper"
    with pytest.raises(UserError, match="unknown suite"):
        paths.short_name("atari")


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({}, "maze_primitive_flow_action_1.pt"),
        ({"data_ratio": 0.1}, "maze_primitive_flow_action_1_0.1.pt"),
        ({"one_step": True}, "maze_primitive_flow_action_1_one_step.pt"),
    ],
)
def test_checkpoint_names(kwargs, name):
    assert paths.prior_checkpoint_name("maze", "flow", "action", 1, **kwargs) == name


def _arrays(lengths, obs_dim=3):
    n = sum(lengths)
    timeouts = np.zeros(n, bool)
    timeouts[np.cumsum(lengths) - 1] = True
    rng = np.random.default_rng(0)
    return {
        "observations": rng.normal(size=(n, obs_dim)),
        "actions": rng.uniform(-1, 1, (n, 2)),
        "goals": rng.normal(size=(n, 2)),
        "rewards": np.zeros(n),
        "terminals": np.zeros(n, bool),
        "timeouts": timeouts,
    }


def test_write_read_round_trip_with_streamed_images(isolated_dirs):
    arrays = _arrays([4, 6])
    images = np.random.default_rng(1).integers(0, 255, (10, 3, 64, 64), dtype=np.uint8)
    path = dataset.write_dataset(
        paths.dataset_dir(create=True) / "maze_primitive.hdf5", arrays, images, {"suite": "maze"}
    )
    loaded = dataset.load_dataset("maze", with_images=True)
    np.testing.assert_allclose(loaded.actions, arrays["actions"].astype(np.float32))
    assert loaded.bounds.tolist() == [0, 4, 10] and loaded.num_trajectories == 2
    assert loaded.trajectory(1)["observations"].shape == (6, 3)
    np.testing.assert_array_equal(loaded.images[7], images[7])
    loaded.close()
    assert not list(path.parent.glob(".*tmp")), "no temporary file may remain"


def test_legacy_npy_dict_is_read(isolated_dirs):
    arrays = _arrays([5, 5])
    legacy = {
        "states": arrays["observations"],
        "actions": arrays["actions"],
        "goals": arrays["goals"],
        "terminals": arrays["timeouts"].astype(int),
        "timeouts": np.zeros(10),
    }
    np.save(paths.dataset_dir(create=True) / "maze_primitive_distilled.npy", legacy)
    loaded = dataset.load_dataset("maze")
    assert loaded.bounds.tolist() == [0, 5, 10]
    np.testing.assert_allclose(loaded.observations, arrays["observations"].astype(np.float32))


def test_missing_dataset_names_the_command(isolated_dirs):
    with pytest.raises(UserError, match="collect_dataset.py --env point-maze"):
        dataset.load_dataset("maze")
    with pytest.raises(UserError, match="import_d4rl.py"):
        dataset.load_dataset("hopper")


def test_corrupt_file_is_reported(isolated_dirs):
    bad = paths.dataset_dir(create=True) / "maze_primitive.hdf5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(UserError, match="not a readable HDF5 file"):
        dataset.load_dataset("maze")


def test_episode_bounds_keep_an_unterminated_tail():
    assert dataset.episode_bounds(np.array([0, 1, 0, 0]), np.zeros(4)).tolist() == [0, 2, 4]
