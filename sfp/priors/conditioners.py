"""Networks that turn a condition into features for a coupling layer: an MLP for vectors, a CNN for images."""

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
IMAGE_SHAPE = (3, 64, 64)


def mlp(sizes: list[int], activation: str, output_activation: type[nn.Module] | None = None) -> nn.Sequential:
    """Linear layers of the given widths with `activation` between them (and optionally after the last)."""
    layers: list[nn.Module] = []
    for i, (inp, out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(inp, out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    if output_activation is not None:
        layers.append(output_activation())
    return nn.Sequential(*layers)


def condition_mlp(cond_dim: int, units: int, activation: str) -> nn.Sequential:
    """The per-layer pre-network of the original: (B, C) -> (B, U), three linears, no output activation."""
    return mlp([cond_dim, units, units, units], activation)


def conv_layers() -> list[nn.Module]:
    """The convolutional trunk shared by PARROT's image conditioner and the RL image encoder (the original's, in both):
    three 3x3 convolutions of 16 channels with two 2x2 max-pools, (B, 3, 64, 64) -> (B, 16 * 12 * 12) once
    flattened. A list, so each user splices the layers into its own Sequential and keeps its state-dict keys."""
    return [
        nn.Conv2d(3, 16, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3),
        nn.ReLU(),
        nn.Flatten(),
    ]


CONV_FEATURES = 16 * 12 * 12


def image_encoder(units: int) -> nn.Sequential:
    """PARROT's image conditioner: (B, 3, 64, 64) in [0, 1] -> (B, U)."""
    return nn.Sequential(
        *conv_layers(),
        nn.Linear(CONV_FEATURES, 1024),
        nn.ReLU(),
        nn.Linear(1024, 512),
        nn.ReLU(),
        nn.Linear(512, units),
    )
