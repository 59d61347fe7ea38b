"""sfp.priors.loading: the API the RL side calls."""

import pytest
import torch

from sfp.errors import UserError
from sfp.priors.checkpoint import save_checkpoint
from sfp.priors.factory import build_model
from sfp.priors.loading import Prior, command_for_checkpoint, load_prior, prior_command

torch.set_num_threads(1)


def config(model="flow", one_step=False, **extra):
    base = {
        "short": "maze",
        "model": model,
        "mode": "action",
        "n_step": 2,
        "one_step": one_step,
        "data_ratio": 1.0,
        "action_dim": 2,
        "cond_shape": [] if one_step else [4],
        "cond_dim": 0 if one_step else 4,
        "dataset_md5": "x",
        "num_hidden": 8,
        "val_nll": 0.0,
    }
    if model == "flow":
        base.update(
            {
                "num_blocks": 2,
                "s_act": "relu",
                "t_act": "relu",
                "bn": True,
                "shared": True,
                "pre_mlp": True,
                "pre_mlp_units": 8,
            }
        )
    if model == "lscde":
        base["num_kernels"] = 5
    return {**base, **extra}


def saved_prior(tmp_path, **kwargs) -> Prior:
    settings = config(**kwargs)
    torch.manual_seed(0)
    return load_prior(save_checkpoint(tmp_path / "prior.pt", build_model(settings), settings))


def test_prior_command_reproduces_the_checkpoint_settings():
    assert (
        prior_command("maze", "flow", "action", 1)
        == "python flows/train.py --env point-maze --model flow --mode action --n_step 1"
    )
    assert (
        prior_command("sawyer", "vae", "state+goal", 3, 0.1)
        == "python flows/train.py --env meta-world --model vae --mode state+goal --n_step 3 --data_ratio 0.1"
    )
    assert (
        prior_command("hopper", "flow", "action", 1, one_step=True)
        == "python flows/train.py --env hopper --model flow --mode action --n_step 1 --one_step True"
    )


def test_missing_checkpoint_names_the_training_command(tmp_path):
    with pytest.raises(UserError, match="--env meta-world --model gaussian --mode action --n_step 2 --data_ratio 0.5"):
        load_prior(tmp_path / "sawyer_primitive_gaussian_action_2_0.5.pt")
    assert command_for_checkpoint(tmp_path / "odd.pt") == "python flows/train.py"


@pytest.mark.parametrize("model", ["flow", "gaussian", "lscde", "vae"])
def test_sample_and_log_prob_shapes(tmp_path, model):
    prior = saved_prior(tmp_path, model=model)
    assert (prior.model, prior.mode, prior.n_step, prior.one_step) == (model, "action", 2, False)
    assert (prior.action_dim, prior.cond_dim) == (2, 4)
    cond = torch.randn(7, 4)
    action = prior.sample(cond)
    assert action.shape == (7, 2) and not action.requires_grad
    assert prior.log_prob(action, cond).shape == (7,)


def test_one_step_prior_samples_from_a_count(tmp_path):
    prior = saved_prior(tmp_path, one_step=True)
    assert prior.cond_dim == 0
    assert prior.sample(None, 5).shape == (5, 2)
    assert prior.log_prob(torch.zeros(3, 2), None).shape == (3,)


def test_flow_transform_maps_latents_to_the_actions_sample_draws(tmp_path):
    prior = saved_prior(tmp_path)
    cond = torch.randn(4, 4)
    torch.manual_seed(3)
    sampled = prior.sample(cond)
    torch.manual_seed(3)
    assert torch.allclose(prior.transform(torch.randn(4, 2), cond), sampled)


def test_gaussian_parameters_and_model_specific_errors(tmp_path):
    gaussian = saved_prior(tmp_path, model="gaussian")
    mu, log_std = gaussian.gaussian(torch.randn(3, 4))
    assert mu.shape == log_std.shape == (3, 2)
    with pytest.raises(UserError, match="latent actions need a flow"):
        gaussian.transform(torch.randn(3, 2), torch.randn(3, 4))
    deterministic = saved_prior(tmp_path, model="deterministic")
    assert deterministic.sample(torch.randn(3, 4)).abs().max() < 1  # tanh output
    with pytest.raises(UserError, match="has no density"):
        deterministic.log_prob(torch.zeros(3, 2), torch.randn(3, 4))
    with pytest.raises(UserError, match="needs --prior_model gaussian"):
        deterministic.gaussian(torch.randn(3, 4))


def test_log_prob_passes_gradients_to_actions_but_not_parameters(tmp_path):
    prior = saved_prior(tmp_path)
    action = torch.zeros(2, 2, requires_grad=True)
    prior.log_prob(action, torch.randn(2, 4)).sum().backward()
    assert action.grad is not None
    assert all(param.grad is None for param in prior.network.parameters())
