"""The conditional RealNVP: invertibility, exact log-determinants, BatchNorm statistics, initialisation."""

import pytest
import torch

from sfp.priors.batchnorm_stats import recompute_batchnorm
from sfp.priors.realnvp import (
    BatchNormFlow,
    ConditionalRealNVP,
    CouplingLayer,
    alternating_masks,
)
from sfp.priors.windows import SampleSet

torch.set_num_threads(1)


def flow(action_dim=3, cond_dim=4, **kwargs):
    torch.manual_seed(0)
    return ConditionalRealNVP(action_dim, cond_dim, num_blocks=3, num_hidden=16, pre_mlp_units=8, **kwargs)


def set_random_batchnorm_statistics(model):
    for layer in model.layers:
        if isinstance(layer, BatchNormFlow):
            layer.set_statistics(torch.randn(layer.beta.shape), torch.rand(layer.beta.shape) + 0.5)
            layer.log_gamma.data.normal_(0, 0.3)
            layer.beta.data.normal_(0, 0.3)


def test_masks_alternate_and_start_with_even_positions_transformed():
    masks = alternating_masks(3, 3)
    assert [m.tolist() for m in masks] == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]


@pytest.mark.parametrize("shared", [True, False])
def test_coupling_layer_is_invertible_and_keeps_masked_positions(shared):
    torch.manual_seed(0)
    mask = torch.tensor([0.0, 1.0, 0.0])
    layer = CouplingLayer(mask, 4, None, 16, "tanh", "relu", shared)
    for param in layer.parameters():  # make the transform far from identity
        param.data.normal_(0, 0.5)
    x, cond = torch.randn(7, 3), torch.randn(7, 4)
    y, _ = layer(x, cond)
    assert torch.equal(y[:, 1], x[:, 1])
    assert not torch.allclose(y[:, 0], x[:, 0])
    assert torch.allclose(layer.inverse(y, cond), x, atol=1e-5)


@pytest.mark.parametrize("options", [{}, {"shared": False, "s_act": "tanh"}, {"pre_mlp": False}, {"bn": False}])
def test_flow_is_invertible(options):
    model = flow(**options).eval()
    set_random_batchnorm_statistics(model)
    x, cond = torch.randn(16, 3), torch.randn(16, 4)
    z, _ = model.to_latent(x, cond)
    assert torch.allclose(model.transform(z, cond), x, atol=1e-4)


def test_unconditional_flow_is_invertible_and_samples_without_condition():
    model = flow(cond_dim=0).eval()
    x = torch.randn(16, 3)
    z, _ = model.to_latent(x, None)
    assert torch.allclose(model.transform(z, None), x, atol=1e-4)
    assert model.sample(None, 5).shape == (5, 3)


@pytest.mark.parametrize("cond_dim", [4, 0])
def test_log_determinant_matches_autograd_jacobian(cond_dim):
    model = flow(cond_dim=cond_dim).eval().double()
    set_random_batchnorm_statistics(model)
    x = torch.randn(5, 3, dtype=torch.double)
    cond = torch.randn(5, cond_dim, dtype=torch.double) if cond_dim else None
    _, log_det = model.to_latent(x, cond)
    for i in range(len(x)):
        row_cond = None if cond is None else cond[i : i + 1]
        jacobian = torch.autograd.functional.jacobian(lambda v, c=row_cond: model.to_latent(v[None], c)[0][0], x[i])
        assert log_det[i].item() == pytest.approx(torch.linalg.slogdet(jacobian)[1].item(), abs=1e-8)


def test_log_prob_integrates_to_one_in_one_dimension():
    model = flow(action_dim=1, cond_dim=2).eval().double()
    set_random_batchnorm_statistics(model)
    grid = torch.linspace(-40, 40, 40001, dtype=torch.double)[:, None]
    cond = torch.full((len(grid), 2), 0.3, dtype=torch.double)
    density = model.log_prob(grid, cond).exp()
    assert torch.trapezoid(density, grid[:, 0]).item() == pytest.approx(1.0, abs=1e-3)


def test_batchnorm_statistics_equal_the_full_training_set_statistics():
    model = flow()
    samples = SampleSet(torch.randn(1000, 3) * 3 + 1, torch.randn(1000, 4), epoch_size=1000)
    recompute_batchnorm(model, samples, chunk_rows=128)
    # Reference: the original protocol, one full-data batch in training mode, where each BatchNorm normalises
    # with the statistics of its own input over all rows.
    inputs = []
    hooks = [
        layer.register_forward_hook(lambda mod, args, out: inputs.append(args[0].detach()))
        for layer in model.layers
        if isinstance(layer, BatchNormFlow)
    ]
    model.train()
    with torch.no_grad():
        model.to_latent(samples.actions, samples.conds)
    for hook in hooks:
        hook.remove()
    layers = [layer for layer in model.layers if isinstance(layer, BatchNormFlow)]
    assert len(inputs) == len(layers) == 3
    for layer, x in zip(layers, inputs):
        assert torch.allclose(layer.running_mean, x.mean(0), atol=1e-5)
        assert torch.allclose(layer.running_var, x.var(0, unbiased=False) + layer.eps, rtol=1e-4)
    model.eval()
    z, _ = model.to_latent(samples.actions, samples.conds)
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-4)  # the last BatchNorm whitens the data


def test_linear_weights_are_orthogonal_with_zero_bias():
    model = flow()
    linear = model.layers[0].trunk[2]
    assert torch.allclose(linear.weight @ linear.weight.T, torch.eye(16), atol=1e-5)
    assert torch.count_nonzero(linear.bias) == 0
