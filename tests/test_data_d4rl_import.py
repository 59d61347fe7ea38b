"""D4RL import on a small synthetic D4RL-like file: episode boundaries, goals, errors, and finding the result."""

import runpy
from pathlib import Path

import h5py
import numpy as np
import pytest

from sfp import paths
from sfp.data import dataset
from sfp.data.d4rl_import import import_d4rl, infer_body
from sfp.data.episodes import trajectory_pieces
from sfp.errors import UserError

import_main = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "import_d4rl.py"))["main"]

HOPPER_OBS, HOPPER_ACT = 11, 3
# episodes of 7 (timeout), 3 (fall), 12 (timeout), 5 (fall), then an unfinished tail of 4 rows
EPISODES = [(7, "timeout"), (3, "fall"), (12, "timeout"), (5, "fall"), (4, None)]


def _d4rl_arrays(episodes=EPISODES, obs_dim=HOPPER_OBS, act_dim=HOPPER_ACT):
    n = sum(length for length, _ in episodes)
    row = np.arange(n, dtype=np.float32)[:, None]
    terminals, timeouts = np.zeros(n, bool), np.zeros(n, bool)
    end = 0
    for length, how in episodes:
        end += length
        if how == "fall":
            terminals[end - 1] = True
        elif how == "timeout":
            timeouts[end - 1] = True
    return {
        "observations": row + np.zeros((1, obs_dim), np.float32),  # row i holds i in every entry
        "next_observations": row + 0.5 + np.zeros((1, obs_dim), np.float32),
        "actions": np.tile(row / n, (1, act_dim)),
        "rewards": row[:, 0] * 10,
        "terminals": terminals,
        "timeouts": timeouts,
    }


def _write_d4rl(path, arrays):
    with h5py.File(path, "w") as handle:
        for key, value in arrays.items():
            handle.create_dataset(key, data=value)
        handle.create_dataset("infos/qpos", data=np.zeros((len(value), 6)))  # D4RL files carry extra keys
    return path


@pytest.fixture
def hopper_file(tmp_path):
    return _write_d4rl(tmp_path / "hopper-expert-v2.hdf5", _d4rl_arrays())


def test_first_rows_of_each_episode(hopper_file):
    summary = import_d4rl(hopper_file, traj_len=5)
    assert summary.output == paths.dataset_file("hopper")
    assert (summary.episodes, summary.trajectories, summary.rows) == (5, 5, 5 + 3 + 5 + 5 + 4)
    data = dataset.load_dataset("hopper")
    # kept rows: 0-4 of episode [0,7), 7-9 (fall), 10-14 of [10,22), 22-26 (fall), 27-30 (tail)
    expected_rows = [*range(0, 5), *range(7, 10), *range(10, 15), *range(22, 27), *range(27, 31)]
    np.testing.assert_array_equal(data.observations[:, 0], expected_rows)
    np.testing.assert_array_equal(data.bounds, [0, 5, 8, 13, 18, 22])
    # only the two falls are terminals; every other trajectory ends with a timeout
    np.testing.assert_array_equal(np.flatnonzero(data.terminals), [7, 17])
    np.testing.assert_array_equal(np.flatnonzero(data.timeouts), [4, 12, 21])
    np.testing.assert_array_equal(data.rewards, np.array(expected_rows) * 10)


def test_goals_are_the_next_observations(hopper_file):
    import_d4rl(hopper_file, traj_len=5)
    data = dataset.load_dataset("hopper")
    source = _d4rl_arrays()
    rows = data.observations[:, 0].astype(int)
    np.testing.assert_array_equal(data.goals, source["next_observations"][rows])
    np.testing.assert_array_equal(data.actions, source["actions"][rows])
    assert data.goals.shape == data.observations.shape == (len(rows), HOPPER_OBS)


def test_whole_episodes_are_cut_into_pieces(hopper_file):
    summary = import_d4rl(hopper_file, traj_len=5, whole_episodes=True)
    data = dataset.load_dataset("hopper")
    assert summary.rows == 31 and summary.trajectories == 2 + 1 + 3 + 1 + 1
    np.testing.assert_array_equal(data.observations[:, 0], np.arange(31))
    np.testing.assert_array_equal(data.bounds, [0, 5, 7, 10, 15, 20, 22, 27, 31])
    np.testing.assert_array_equal(np.flatnonzero(data.terminals), [9, 26])


def test_max_trajs_keeps_the_first_ones(hopper_file):
    summary = import_d4rl(hopper_file, traj_len=5, max_trajs=2)
    assert (summary.episodes, summary.trajectories, summary.rows) == (2, 2, 8)
    starts, ends, episodes = trajectory_pieces(
        *(_d4rl_arrays()[k] for k in ("terminals", "timeouts")), traj_len=5, max_trajs=3, whole_episodes=True
    )
    np.testing.assert_array_equal(starts, [0, 5, 7])
    np.testing.assert_array_equal(ends, [5, 7, 10])
    assert episodes == 2


def test_refuses_to_overwrite(hopper_file):
    import_d4rl(hopper_file, traj_len=5)
    before = paths.file_md5(paths.dataset_file("hopper"))
    with pytest.raises(UserError, match="already exists.*--overwrite"):
        import_d4rl(hopper_file, traj_len=3)
    assert paths.file_md5(paths.dataset_file("hopper")) == before
    import_d4rl(hopper_file, traj_len=3, overwrite=True)
    assert len(dataset.load_dataset("hopper")) == 3 + 3 + 3 + 3 + 3


def test_missing_key_names_the_fix(tmp_path):
    arrays = _d4rl_arrays()
    del arrays["next_observations"]
    with pytest.raises(UserError, match=r"lacks the D4RL keys \['next_observations'\]"):
        import_d4rl(_write_d4rl(tmp_path / "hopper-medium-v2.hdf5", arrays))


def test_bad_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        import_d4rl(tmp_path / "missing.hdf5")
    (tmp_path / "hopper-text.hdf5").write_text("not hdf5")
    with pytest.raises(UserError, match="not an HDF5 file"):
        import_d4rl(tmp_path / "hopper-text.hdf5")
    arrays = _d4rl_arrays()
    arrays["rewards"] = arrays["rewards"][:-1]
    with pytest.raises(UserError, match="inconsistent"):
        import_d4rl(_write_d4rl(tmp_path / "hopper-short.hdf5", arrays))
    with pytest.raises(UserError, match="actions have 3 dimensions but walker has 6"):
        import_d4rl(_write_d4rl(tmp_path / "walker2d-x.hdf5", _d4rl_arrays()))
    assert not paths.dataset_file("hopper").exists() and not paths.dataset_file("walker").exists()


def test_observation_mismatch_only_warns(tmp_path):
    summary = import_d4rl(_write_d4rl(tmp_path / "ant-expert-v2.hdf5", _d4rl_arrays(obs_dim=111, act_dim=8)))
    assert "111 dimensions but Ant-v5 has 105" in summary.warning
    assert dataset.load_dataset("ant").observations.shape[1] == 111


@pytest.mark.parametrize(
    "name,body",
    [
        ("hopper-expert-v2.hdf5", "hopper"),
        ("walker2d-medium-replay-v2.hdf5", "walker"),
        ("halfcheetah_expert.hdf5", "halfcheetah"),
        ("ant-medium-v2.hdf5", "ant"),
        ("swimmer.hdf5", "swimmer"),
    ],
)
def test_infer_body(name, body):
    assert infer_body(f"/some/dir/{name}") == body


@pytest.mark.parametrize("name", ["antmaze-umaze-v2.hdf5", "expert-v2.hdf5", "hopper-vs-ant.hdf5"])
def test_infer_body_refuses_unclear_names(name):
    with pytest.raises(UserError, match="pass --body"):
        infer_body(name)


def test_script_prints_a_summary_and_exits_cleanly(tmp_path, capsys):
    source = _write_d4rl(tmp_path / "my-dataset.hdf5", _d4rl_arrays())
    import_main(["--file", str(source), "--body", "hopper", "--traj_len", "4"])
    assert f"imported 5 trajectories (19 rows) from 5 episodes into {paths.dataset_file('hopper')}" in (
        capsys.readouterr().out
    )
    with pytest.raises(SystemExit) as exit_info:
        import_main(["--file", str(source), "--body", "hopper"])
    assert exit_info.value.code == 2
    assert "--overwrite" in capsys.readouterr().err
