"""Small learning problems every model must solve."""

import numpy as np
import pytest
import torch
from torch.nn.functional import cosine_similarity, normalize

from sfp.data.dataset import ExpertData
from sfp.data.synthetic import persistent_action_arrays
from sfp.priors.diagnostics import action_prior_report, action_statistics
from sfp.priors.factory import build_model
from sfp.priors.lscde import LSCDE, fit_lscde
from sfp.priors.params import PriorParams
from sfp.priors.trainer import train_model
from sfp.priors.windows import SampleSet, build_samples, split_trajectories

pytestmark = pytest.mark.slow  # priors that must learn their data (make test-fast skips them)

torch.set_num_threads(1)


class SilentLog:
    def scalar(self, *args):
        pass

    def row(self, values):
        pass


@pytest.fixture(scope="module")
def persistent():
    """Actions that keep a random unit direction for 50 steps, and their (a_t | a_{t-1}) samples."""
    data = ExpertData(**persistent_action_arrays(60, 100, segment=50, seed=1), path=None)
    train, val, _ = split_trajectories(data.num_trajectories, 1.0, False)
    return data, val, build_samples(data, train, "action", 1, False), build_samples(data, val, "action", 1, False)


def trained(model_name, persistent, epochs=6, **architecture):
    _, _, train_set, val_set = persistent
    config = {"model": model_name, "action_dim": 2, "cond_dim": 2, "cond_shape": [2], "num_hidden": 64, **architecture}
    torch.manual_seed(0)
    model = build_model(config)
    settings = PriorParams(epochs=epochs, lr=3e-3, batch_size=200)
    result = train_model(model, train_set, val_set, settings, torch.Generator().manual_seed(0), SilentLog())
    return model.eval(), result


def persistence(model, count=500):
    """Mean cosine between samples and their conditioning previous action, and the samples' mean norm."""
    previous = normalize(torch.randn(count, 2), dim=1)
    with torch.no_grad():
        samples = model.sample(previous, count)
    return cosine_similarity(samples, previous).mean().item(), samples.norm(dim=1).mean().item()


def test_realnvp_reproduces_action_persistence(persistent, tmp_path):
    model, _ = trained(
        "flow",
        persistent,
        num_blocks=4,
        s_act="relu",
        t_act="relu",
        bn=True,
        shared=True,
        pre_mlp=True,
        pre_mlp_units=32,
    )
    cosine, norm = persistence(model)
    assert cosine > 0.95 and norm == pytest.approx(1.0, abs=0.1)
    data, val_trajectories = persistent[:2]
    report = action_prior_report(
        model, {"n_step": 1, "action_dim": 2, "one_step": False}, data, val_trajectories, tmp_path
    )
    assert report["prior"]["mean_cosine"] == pytest.approx(report["data"]["mean_cosine"], abs=0.05)
    assert report["prior"]["mean_abs"] == pytest.approx(report["data"]["mean_abs"], abs=0.1)
    assert (tmp_path / "pairs.png").exists()


def test_deterministic_and_vae_priors_learn_persistence(persistent):
    assert persistence(trained("deterministic", persistent)[0])[0] > 0.95
    vae, _ = trained("vae", persistent, epochs=10)
    assert persistence(vae)[0] > 0.8


def test_gaussian_prior_is_fitted_to_the_target_action():
    cond = torch.randn(4000, 2)
    pre_tanh = torch.stack([0.5 * cond[:, 0], -0.5 * cond[:, 0]], 1)
    target = torch.tanh(pre_tanh + 0.05 * torch.randn_like(pre_tanh))
    train_set, val_set = SampleSet(target[:3600], cond[:3600], 3600), SampleSet(target[3600:], cond[3600:], 400)
    torch.manual_seed(0)
    model = build_model({"model": "gaussian", "action_dim": 2, "cond_dim": 2, "num_hidden": 64})
    train_model(
        model,
        train_set,
        val_set,
        PriorParams(epochs=15, lr=3e-3, batch_size=200),
        torch.Generator().manual_seed(0),
        SilentLog(),
    )
    mu, log_std = model.eval().gaussian(val_set.conds)
    assert (mu - pre_tanh[3600:]).abs().mean() < 0.05
    assert log_std.exp().mean() < 0.15


def test_lscde_recovers_a_linear_conditional_and_is_normalised():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(3000, 1, generator=generator) * 2 - 1
    y = 0.8 * x + 0.05 * torch.randn(3000, 1, generator=generator)
    model = LSCDE(1, 1, num_kernels=200)
    result = fit_lscde(model, y[:2500], x[:2500], y[2500:], x[2500:], generator)
    assert result["val_nll"] < -1.0  # a N(0.8x, 0.05²) density has NLL ≈ -1.6
    with torch.no_grad():
        samples = model.sample(torch.full((2000, 1), 0.5), 2000)
        grid = torch.linspace(-3, 3, 6001)[:, None]
        density = model.log_prob(grid, torch.full_like(grid, 0.5)).exp()
    assert samples.mean().item() == pytest.approx(0.4, abs=0.05)
    assert torch.trapezoid(density, grid[:, 0]).item() == pytest.approx(1.0, abs=1e-3)


def test_action_statistics_by_hand():
    constant = np.tile([[[0.6, 0.8]]], (2, 5, 1))
    stats = action_statistics(constant)
    assert stats["mean_abs"] == pytest.approx(0.7) and stats["mean_cosine"] == pytest.approx(1.0)
    alternating = np.array([[[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]]])
    stats = action_statistics(alternating * 2)  # clipped to ±1 first
    assert stats["mean_abs"] == pytest.approx(0.5) and stats["mean_cosine"] == pytest.approx(-1.0)
    assert stats["lag1_autocorr"][0] == pytest.approx(-0.75)
