"""Checkpoints: naming, round trip, the overwrite policy, corrupt files."""

import pytest
import torch

from sfp import paths
from sfp.data.synthetic import write_persistent_dataset
from sfp.errors import UserError
from sfp.priors.checkpoint import read_checkpoint, save_checkpoint
from sfp.priors.factory import build_model
from sfp.priors.loading import load_prior
from sfp.priors.params import parse_train_params
from sfp.priors.training import train_prior
from tests.tiny_runs import tiny_prior

torch.set_num_threads(1)
TINY = tiny_prior()


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    for variable, name in (("D4RL_DATASET_DIR", "data"), ("SFP_FLOW_DIR", "flows"), ("SFP_LOG_DIR", "logs")):
        monkeypatch.setenv(variable, str(tmp_path / name))
    (tmp_path / "data").mkdir()
    write_persistent_dataset(tmp_path / "data" / "maze_primitive.hdf5", 10, 30)
    return tmp_path


def train(*extra):
    return train_prior(parse_train_params(TINY + list(extra)))


def test_checkpoint_name_is_the_one_main_py_reads(dirs):
    assert train()["checkpoint"].name == "maze_primitive_flow_action_1.pt"
    assert (
        train("--model", "gaussian", "--n_step", "2", "--data_ratio", "0.5")["checkpoint"].name
        == "maze_primitive_gaussian_action_2_0.5.pt"
    )
    assert train("--one_step", "True")["checkpoint"].name == "maze_primitive_flow_action_1_one_step.pt"


def test_round_trip_restores_the_same_function(dirs, tmp_path):
    config = {
        "short": "maze",
        "model": "flow",
        "mode": "action",
        "n_step": 1,
        "one_step": False,
        "data_ratio": 1.0,
        "action_dim": 2,
        "cond_shape": [2],
        "cond_dim": 2,
        "dataset_md5": "x",
        "num_hidden": 8,
        "num_blocks": 2,
        "s_act": "relu",
        "t_act": "relu",
        "bn": True,
        "shared": True,
        "pre_mlp": True,
        "pre_mlp_units": 8,
        "val_nll": 0.0,
    }
    model = build_model(config).eval()
    model.layers[1].set_statistics(torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.3]))
    path = save_checkpoint(tmp_path / "flows" / "x.pt", model, config)
    state, loaded_config = read_checkpoint(path)
    assert loaded_config == config and set(state) == set(model.state_dict())
    prior = load_prior(path)
    action, cond = torch.randn(6, 2), torch.randn(6, 2)
    assert torch.allclose(prior.log_prob(action, cond), model.log_prob(action, cond))
    z = torch.randn(6, 2)
    assert torch.allclose(prior.transform(z, cond), model.transform(z, cond))
    assert not list(tmp_path.joinpath("flows").glob(".*tmp"))  # the atomic write left no temporary file


def test_different_config_is_refused_before_training(dirs):
    train()
    with pytest.raises(UserError, match="num_blocks: 2 -> 3"):
        train("--num_blocks", "3")
    assert train("--num_blocks", "3", "--overwrite", "True")["written"]
    assert read_checkpoint(paths.prior_checkpoint("maze", "flow", "action", 1))[1]["num_blocks"] == 3


def set_stored_val_nll(path, value):
    state, config = read_checkpoint(path)
    torch.save({"state_dict": state, "config": {**config, "val_nll": value}}, path)


def test_only_a_better_run_replaces_the_existing_checkpoint(dirs):
    path = train()["checkpoint"]
    set_stored_val_nll(path, -1e9)
    worse = train("--seed", "2")
    assert not worse["written"] and read_checkpoint(path)[1]["val_nll"] == -1e9
    assert (worse["log_dir"] / "model.pt").exists()
    set_stored_val_nll(path, 1e9)
    better = train("--seed", "3")
    assert better["written"] and read_checkpoint(path)[1]["val_nll"] == pytest.approx(better["val_nll"])
    set_stored_val_nll(path, -1e9)
    assert train("--seed", "4", "--overwrite", "True")["written"]


def test_rerun_logs_to_a_fresh_directory(dirs):
    assert train()["log_dir"].name == "flows_maze_flow_action_1_s1"
    assert train("--overwrite", "True")["log_dir"].name == "flows_maze_flow_action_1_s1_2"
    assert train("--exp_name", "mine", "--overwrite", "True")["log_dir"].name == "mine_s1"


def test_debug_run_never_touches_the_flow_directory(dirs):
    result = train("--debug", "True")
    assert not result["written"] and not result["checkpoint"].exists()
    assert (result["log_dir"] / "model.pt").exists()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None])
def test_corrupt_or_foreign_checkpoint_is_a_user_error(dirs, tmp_path, content):
    path = tmp_path / "broken.pt"
    if content is None:
        torch.save({"weights": 1}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(UserError, match="corrupt or not an SFP prior"):
        load_prior(path)
