"""The fused sampler computes exactly the model's eval-mode inverse pass."""

import pytest
import torch

from sfp.priors.frozen_sampler import FrozenRealNVPSampler, supports
from sfp.priors.realnvp import BatchNormFlow, ConditionalRealNVP


def _frozen(action_dim, cond_dim, **options):
    torch.manual_seed(0)
    model = ConditionalRealNVP(action_dim, cond_dim, num_blocks=3, num_hidden=16, pre_mlp_units=8, **options)
    for layer in model.layers:  # non-trivial parameters and BatchNorm statistics
        if isinstance(layer, BatchNormFlow):
            layer.log_gamma.data.normal_(0, 0.3)
            layer.beta.data.normal_(0, 0.3)
            layer.set_statistics(torch.randn(action_dim), torch.rand(action_dim) + 0.5)
    return model.eval()


@pytest.mark.parametrize(
    "action_dim,cond_dim,options",
    [
        (2, 2, {}),
        (4, 12, {}),
        (3, 5, {"bn": False}),
        (2, 0, {}),
        (4, 4, {"pre_mlp": False}),
        (2, 6, {"t_act": "tanh"}),
    ],
)
def test_fused_sampler_equals_the_inverse_pass(action_dim, cond_dim, options):
    model = _frozen(action_dim, cond_dim, **options)
    assert supports(model)
    fast = FrozenRealNVPSampler(model)
    for batch in (1, 37):
        z = torch.randn(batch, action_dim)
        cond = torch.randn(batch, cond_dim) if cond_dim else None
        with torch.no_grad():
            expected = model.transform(z, cond)
        torch.testing.assert_close(fast.transform(z, cond), expected, rtol=1e-5, atol=1e-5)


def test_unsupported_architectures_are_reported():
    assert not supports(ConditionalRealNVP(2, 3, num_blocks=2, num_hidden=8, shared=False))
    with pytest.raises(ValueError, match="no fused sampler"):
        FrozenRealNVPSampler(ConditionalRealNVP(2, 3, num_blocks=2, num_hidden=8, shared=False))
