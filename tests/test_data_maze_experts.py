"""The maze's two experts (original: the paper's data; fixed: its frame mismatch fixed), kept apart end to end:
collect -> distill -> flows/train.py -> main.py."""

import hashlib
import json
import shutil

import h5py
import numpy as np
import pytest

from sfp import paths
from sfp.commands import train as main
from sfp.commands.collect import main as collect_main
from sfp.commands.train_prior import main as train_prior_main
from sfp.data import dataset
from sfp.data.collector import collect, piece_name, trajectory_randomness
from sfp.data.distill import distill
from sfp.data.experts import FixedMazeExpert, OriginalMazeExpert, expert_for
from sfp.data.maze_statistics import maze_statistics
from sfp.data.statistics import action_statistics, stacked_trajectories
from sfp.errors import UserError
from sfp.priors.loading import command_for_checkpoint, load_prior
from tests.tiny_runs import tiny_prior, tiny_run


def rollouts(expert, count, traj_len=500):
    env = expert.make_env()
    pieces = []
    for index in range(count):
        env_seed, rng = trajectory_randomness(0, index)
        pieces.append(expert.rollout(env, rng, env_seed, traj_len))
    return env, {key: np.stack([piece[key] for piece in pieces]) for key in ("observations", "actions", "goals")}


# --- the experts ----------------------------------------------------------------------------------------------
def test_original_expert_statistics_match_the_original_release():
    _, arrays = rollouts(OriginalMazeExpert(), 300)
    stats = maze_statistics(**arrays)
    assert 59.0 <= stats["steps_per_target"] <= 61.0  # 61 unless a target is hit by chance
    assert 0.80 <= stats["near_wall"] <= 0.90
    assert 0.975 <= stats["mean_cosine"] <= 0.99
    assert 0.97 <= stats["lag1_autocorr"] <= 0.985
    assert 1.1 < stats["max_abs_action"] < 1.3  # not clipped


def test_fixed_expert_keeps_todays_statistics_and_trajectories():
    _, arrays = rollouts(FixedMazeExpert(), 300)
    stats = maze_statistics(**arrays)
    assert 12.0 <= stats["steps_per_target"] <= 16.0
    assert stats["near_wall"] < 0.02
    assert 0.88 <= stats["mean_cosine"] <= 0.91 and 0.875 <= stats["lag1_autocorr"] <= 0.905
    assert stats["max_abs_action"] <= 1.0
    env = FixedMazeExpert().make_env()
    for index, digest in ((0, "a2b7e87115cfbc681b48e7f569f944a6"), (7, "e6c04bba1a30e9e4e91f8249a95c059e")):
        env_seed, rng = trajectory_randomness(0, index)  # md5s of the expert before `original` existed
        piece = FixedMazeExpert().rollout(env, rng, env_seed, 200)
        raw = b"".join(piece[key].tobytes() for key in ("observations", "actions", "goals"))
        assert hashlib.md5(raw).hexdigest() == digest


def test_original_expert_moves_by_the_full_unclipped_action_toward_a_wrong_frame_target():
    env, arrays = rollouts(OriginalMazeExpert(), 5, traj_len=300)
    position = env.unscale(arrays["observations"].astype(np.float64))
    actions, targets = arrays["actions"].astype(np.float64), env.unscale(arrays["goals"].astype(np.float64))
    assert np.abs(targets).max() > 13.5 and np.abs(targets).max() <= 14.5  # drawn in [-14.5, 14.5]^2
    moved = position[:, 1:] - position[:, :-1]
    free = np.all(np.abs(position[:, 1:]) < 12.5, axis=-1) & np.all(np.abs(position[:, :-1]) < 12.5, axis=-1)
    assert free.sum() > 100 and np.abs(actions[:, :-1][free]).max() > 1.0
    assert np.allclose(moved[free], actions[:, :-1][free], atol=1e-4)  # the whole action, beyond 1 included
    direction = targets - arrays["observations"]  # compared with the scaled position: the frame mismatch
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    assert np.abs(actions - direction).std() < 0.06
    assert maze_statistics(**arrays)["steps_per_target"] == 61.0


def test_statistics_of_stacked_trajectories_by_hand():
    goals = np.array([[[0.0], [0.0], [1.0], [1.0], [1.0], [2.0]], [[5.0], [5.0], [5.0], [6.0], [6.0], [6.0]]])
    actions = np.array([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [-1.0, 0.0]]] * 2)
    stats = action_statistics(stacked_trajectories(actions, goals))
    assert stats["steps_per_target"] == 8 / 3  # runs 2, 3 and 3; each trajectory's cut last run left out
    assert stats["targets_per_trajectory"] == 2.5
    assert stats["mean_cosine"] == pytest.approx(6 / 10)  # 10 pairs within trajectories, 6 of them equal actions
    # x = a - mean(a), mean (1/6, 1/2) per axis; both trajectories alike, so each axis is Σ_t x_t x_{t+1} / Σ_t x_t²
    x = actions[0] - actions[0].mean(axis=0)
    expected = ((x[1:] * x[:-1]).sum(0) / (x**2).sum(0)).mean()
    assert stats["lag1_autocorr"] == pytest.approx(expected)
    assert stats["max_abs_action"] == 1.0


def test_meta_world_has_one_expert():
    with pytest.raises(UserError, match="--expert original"):
        expert_for("meta-world", "fixed")
    assert expert_for("meta-world").data_name == "sawyer"


# --- kept apart -----------------------------------------------------------------------------------------------
def test_the_two_experts_collect_and_distill_into_separate_files():
    collect("point-maze", num_trajs=2, traj_len=30, progress=False)
    collect("point-maze", num_trajs=2, traj_len=30, progress=False, expert="fixed")
    assert sorted(path.name for path in paths.pieces_dir("maze").glob("*.npz")) == [
        piece_name("maze", 0),
        piece_name("maze", 1),
    ]
    assert (paths.pieces_dir("maze-fixed") / piece_name("maze-fixed", 1)).exists()
    distill("point-maze", progress=False)
    distill("point-maze", progress=False, expert="fixed")
    for name, expert in (("maze", "original"), ("maze-fixed", "fixed")):
        with h5py.File(paths.dataset_file(name)) as handle:
            assert (handle.attrs["expert"], handle.attrs["data_name"]) == (expert, name)
        assert dataset.load_dataset(name).expert == expert
    original, fixed = dataset.load_dataset("maze"), dataset.load_dataset("maze-fixed")
    assert np.abs(original.actions).max() > 1.0 >= np.abs(fixed.actions).max()


def test_pieces_of_two_experts_never_mix():
    collect("point-maze", num_trajs=2, traj_len=20, progress=False)
    collect("point-maze", num_trajs=3, traj_len=20, progress=False, expert="fixed")
    original_folder, fixed_folder = paths.pieces_dir("maze"), paths.pieces_dir("maze-fixed")
    stray = original_folder / piece_name("maze-fixed", 2)
    shutil.copy(fixed_folder / piece_name("maze-fixed", 2), stray)
    with pytest.raises(UserError, match="belongs to other data"):
        distill("point-maze", progress=False)
    stray.rename(original_folder / piece_name("maze", 2))  # renamed: its metadata still says fixed
    with pytest.raises(UserError, match="made by the 'fixed' expert") as error:
        distill("point-maze", progress=False)
    assert "collect_dataset.py --env point-maze --expert original" in str(error.value)
    assert not paths.dataset_file("maze").exists()
    with pytest.raises(UserError, match="recorded options"):  # a folder keeps its expert
        collect("point-maze", num_trajs=3, traj_len=20, progress=False, folder=fixed_folder)


def test_a_dataset_of_the_other_expert_is_refused_by_name():
    collect("point-maze", num_trajs=1, traj_len=20, progress=False, expert="fixed")
    distill("point-maze", progress=False, expert="fixed")
    paths.dataset_file("maze-fixed").rename(paths.dataset_file("maze"))
    with pytest.raises(UserError, match="rename it to maze-fixed_primitive.hdf5"):
        dataset.load_dataset("maze")
    with pytest.raises(UserError, match="--env point-maze --expert fixed"):
        dataset.load_dataset("maze-fixed")


def test_the_collect_command_defaults_to_the_original_expert(capsys):
    collect_main(["--env", "point-maze", "--num_trajs", "1", "--traj_len", "20"])
    assert "distill_dataset.py --env point-maze --expert original" in capsys.readouterr().out
    with np.load(paths.pieces_dir("maze") / piece_name("maze", 0)) as piece:
        assert json.loads(str(piece["meta"]))["expert"] == "original"


PRIOR = tiny_prior()
RL = tiny_run(
    use_prior=True, epochs=1, steps_per_epoch=60, start_steps=20, update_after=20, update_every=20, max_ep_len=50
)


def test_collect_distill_train_and_main_keep_the_expert_end_to_end(capsys):
    collect("point-maze", num_trajs=12, traj_len=40, progress=False, expert="fixed")
    distill("point-maze", progress=False, expert="fixed")
    train_prior_main([*PRIOR, "--expert", "fixed"])
    fixed_prior = paths.prior_checkpoint("maze-fixed", "flow", "action", 1)
    assert load_prior(fixed_prior).config["expert"] == "fixed"
    assert not paths.prior_checkpoint("maze", "flow", "action", 1).exists()

    with pytest.raises(SystemExit):  # the default (original) prior does not exist: say which command makes it
        main.main([*RL, "--exp_name", "original"])
    assert "python flows/train.py --env point-maze --model flow --mode action --n_step 1" in capsys.readouterr().err

    main.main([*RL, "--expert", "fixed", "--exp_name", "fixed"])
    record = json.loads((paths.run_dir("fixed", 0) / "provenance.json").read_text())
    assert record[-1]["files"]["prior"]["path"] == str(fixed_prior)

    shutil.copy(fixed_prior, paths.prior_checkpoint("maze", "flow", "action", 1))  # a fixed prior under the name
    with pytest.raises(UserError, match="trained on the 'fixed' expert's data, not 'original'"):
        load_prior(paths.prior_checkpoint("maze", "flow", "action", 1))
    assert command_for_checkpoint(fixed_prior).endswith("--n_step 1 --expert fixed")


def test_expert_fixed_is_for_the_mazes_only(capsys):
    with pytest.raises(SystemExit):
        main.main(["--env", "reach-v2", "--expert", "fixed"])
    assert "--expert fixed chooses the point mazes' data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_prior_main(["--env", "meta-world", "--expert", "fixed"])
    assert "point-maze only" in capsys.readouterr().err
