"""Set every BatchNormFlow's running statistics to the statistics of its inputs over the whole training set.

One batched forward pass, layer by layer: the activations of all rows (N, A) are kept in memory (2 M x A floats is
small), each BatchNorm layer gets the exact float64 mean and biased variance of its input, and the pass continues
through it with those statistics — the same result as one full-data batch in training mode (docs/method.md §1).
"""

import torch

from sfp.priors.realnvp import BatchNormFlow, ConditionalRealNVP
from sfp.priors.windows import SampleSet

CHUNK_ROWS = 8_192  # cache-sized intermediates: 65k-row chunks were 2.5x slower (allocation churn)
IMAGE_ROWS = 8_192  # image priors use a random subset: every frame would have to be read and encoded


def has_batchnorm(model: torch.nn.Module) -> bool:
    return any(isinstance(layer, BatchNormFlow) for layer in model.modules())


@torch.no_grad()
def recompute_batchnorm(
    model: ConditionalRealNVP,
    samples: SampleSet,
    generator: torch.Generator | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> None:
    """Recompute the running statistics of all BatchNormFlow layers of `model` from `samples`."""
    index = torch.arange(len(samples))
    if samples.images is not None:
        index = torch.randperm(len(samples), generator=generator)[:IMAGE_ROWS].sort().values
    index = index.to(samples.actions.device)
    chunks = [index[i : i + chunk_rows] for i in range(0, len(index), chunk_rows)]
    vector_conds = None if samples.images is not None else [samples.conditions(rows) for rows in chunks]

    def condition(i: int):  # vector conditions are kept; frames are streamed again for every layer
        return samples.conditions(chunks[i]) if vector_conds is None else vector_conds[i]

    activations = [samples.actions[rows] for rows in chunks]
    last = max(i for i, layer in enumerate(model.layers) if isinstance(layer, BatchNormFlow))
    was_training = model.training
    model.eval()
    for layer in model.layers[: last + 1]:
        if isinstance(layer, BatchNormFlow):
            var, mean = torch.var_mean(torch.cat(activations).double(), dim=0, unbiased=False)
            layer.set_statistics(mean.float(), var.float())
        activations = [layer(x, condition(i))[0] for i, x in enumerate(activations)]
    model.train(was_training)
