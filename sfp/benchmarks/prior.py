"""Prior benchmarks (scripts/bench_prior.py): training samples/s at a batch size, the BatchNorm recompute time on
a large training set, and single-action sampling latency through sfp.priors.loading (the RL loop draws one per step)."""

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sfp.data.synthetic import persistent_action_arrays
from sfp.priors.batchnorm_stats import recompute_batchnorm
from sfp.priors.checkpoint import save_checkpoint
from sfp.priors.factory import build_model
from sfp.priors.loading import load_prior
from sfp.priors.realnvp import ConditionalRealNVP
from sfp.priors.windows import SampleSet


def default_flow_config(action_dim: int, n_step: int) -> dict:
    """The original release's default flow (6 blocks, 128 units, BatchNorm, shared s/t, pre-MLP) for an action prior."""
    return {
        "short": "bench",
        "model": "flow",
        "mode": "action",
        "n_step": n_step,
        "one_step": False,
        "data_ratio": 1.0,
        "action_dim": action_dim,
        "cond_shape": [n_step * action_dim],
        "cond_dim": n_step * action_dim,
        "dataset_md5": "",
        "num_hidden": 128,
        "num_blocks": 6,
        "s_act": "relu",
        "t_act": "relu",
        "bn": True,
        "shared": True,
        "pre_mlp": True,
        "pre_mlp_units": 128,
        "val_nll": 0.0,
    }


def synthetic_samples(rows: int, action_dim: int, n_step: int) -> SampleSet:
    """rows (target, window) pairs of persistent synthetic actions."""
    arrays = persistent_action_arrays(-(-(rows + n_step) // 500), 500, action_dim)
    actions = torch.from_numpy(arrays["actions"].astype(np.float32))
    index = torch.arange(n_step, len(actions))[:rows]
    windows = actions[index[:, None] - n_step + torch.arange(n_step)].reshape(len(index), -1)
    return SampleSet(actions[index], windows, len(index))


def training_throughput(config: dict, samples: SampleSet, batch_size: int, steps: int) -> float:
    """Training samples per second (forward, backward, Adam step) at `batch_size`, after 5 warm-up steps."""
    model = build_model(config).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-6)
    batches = samples.batches(batch_size, torch.Generator().manual_seed(0))
    for step in range(steps + 5):
        if step == 5:
            started = time.perf_counter()
        action, cond = next(batches)
        loss = model.loss(action, cond).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch_size / (time.perf_counter() - started)


def batchnorm_seconds(config: dict, samples: SampleSet) -> float:
    model = build_model(config)
    assert isinstance(model, ConditionalRealNVP)  # a flow config: the only model with BatchNorm layers
    started = time.perf_counter()
    recompute_batchnorm(model, samples)
    return time.perf_counter() - started


def sampling_latency_ms(config: dict, draws: int) -> float:
    """Mean milliseconds of Prior.sample for one (1, n·A) condition, through a saved and loaded checkpoint."""
    with tempfile.TemporaryDirectory() as folder:
        prior = load_prior(save_checkpoint(Path(folder) / "bench.pt", build_model(config).eval(), config))
    cond = torch.zeros(1, config["cond_dim"])
    for _ in range(20):
        prior.sample(cond)
    started = time.perf_counter()
    for _ in range(draws):
        prior.sample(cond)
    return 1000 * (time.perf_counter() - started) / draws


def run_benchmarks(rows: int, action_dim: int, n_step: int, batch_size: int, steps: int, draws: int) -> dict:
    config = default_flow_config(action_dim, n_step)
    samples = synthetic_samples(rows, action_dim, n_step)
    return {
        "threads": torch.get_num_threads(),
        "action_dim": action_dim,
        "n_step": n_step,
        "train_samples_per_s": training_throughput(config, samples, batch_size, steps),
        "batch_size": batch_size,
        "batchnorm_rows": len(samples),
        "batchnorm_recompute_s": batchnorm_seconds(config, samples),
        "sample_latency_ms": sampling_latency_ms(config, draws),
    }
