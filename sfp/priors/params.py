"""flows/train.py parameters: the file, the value rules, and the combinations refused before any work starts."""

from argparse import Namespace
from pathlib import Path

import torch

from sfp import paths
from sfp.config import SEED_MAX, Rule, check_memory, load_defaults, parse_params
from sfp.errors import UserError
from sfp.paths import EXPERTS
from sfp.priors.conditioners import ACTIVATIONS
from sfp.priors.factory import MODELS
from sfp.priors.windows import MODES

PARAMS_FILE = Path(__file__).resolve().parent / "default_params.json"
RULES = {
    "expert": Rule(choices=EXPERTS),
    "exp_name": Rule(name=True, optional=True),
    "mode": Rule(choices=MODES),
    "model": Rule(choices=MODELS),
    "n_step": Rule(min=1),
    "batch_size": Rule(min=1),
    "test_batch_size": Rule(min=1),
    "epochs": Rule(min=1),
    "lr": Rule(min=0),
    "num_blocks": Rule(min=1),
    "num_hidden": Rule(min=1),
    "t_act": Rule(choices=tuple(ACTIVATIONS)),
    "s_act": Rule(choices=tuple(ACTIVATIONS)),
    "pre_mlp_units": Rule(min=1),
    "num_threads": Rule(min=1),
    "log_interval": Rule(min=1),
    "data_ratio": Rule(max=1.0),
    "weight_decay": Rule(min=0),
    "patience": Rule(min=1),
    "seed": Rule(min=0, max=SEED_MAX),
}


def resolve_model(params: Namespace) -> str:
    """The model chosen by --model and the seed's --deterministic / --gaussian switches."""
    switched = [name for name in ("deterministic", "gaussian") if getattr(params, name)]
    if len(switched) > 1 or (switched and params.model not in ("flow", switched[0])):
        raise UserError(f"--model {params.model} conflicts with --{' / --'.join(switched)} True; choose one model")
    return switched[0] if switched else params.model


def check_combinations(params: Namespace) -> None:
    """UserError for options that cannot work together."""
    paths.short_name(params.env)  # a suite, a body, or the name of an existing (e.g. imported) dataset
    if params.expert != "original" and paths.short_name(params.env) != "maze":
        raise UserError(f"--expert {params.expert} exists for point-maze only; drop it for {params.env}")
    if params.data_ratio <= 0:
        raise UserError("--data_ratio must be above 0 (it is the fraction of training trajectories kept)")
    if params.one_step and params.n_step != 1:
        raise UserError("--one_step True learns single actions without a condition; use it with --n_step 1")
    if params.one_step and params.data_ratio < 1:
        raise UserError(
            "--one_step True with --data_ratio < 1 would share the checkpoint name of the conditional "
            "prior; use one of them"
        )
    if params.one_step and params.model != "flow":
        raise UserError(f"--one_step True needs --model flow (the {params.model} model needs a condition)")
    if params.mode == "image" and not params.one_step:
        if params.n_step != 1:
            raise UserError("--mode image conditions on one frame; use --n_step 1")
        if params.model != "flow":
            raise UserError(f"--mode image needs --model flow (its couplings carry the CNN), not {params.model}")
        if not params.pre_mlp:
            raise UserError("--mode image needs --pre_mlp True (the CNN is the pre-network)")
    try:
        torch.device(params.device)
    except RuntimeError:
        raise UserError(f"--device {params.device!r} is not a torch device; use cpu or cuda") from None
    if params.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {params.device} but no CUDA device is available; use --device cpu")


def check_sizes(params: Namespace, defaults: dict) -> None:
    """Networks and batches that cannot fit in this machine's memory: one line naming the flag, before any work."""

    def flags(*keys):
        return {key: (getattr(params, key), defaults[key][0]) for key in keys}

    blocks = params.num_blocks if params.model == "flow" else 1
    condition = params.n_step * (params.pre_mlp_units if params.pre_mlp else 1)  # at least one unit per action
    weights = blocks * params.num_hidden * (params.num_hidden + 2) + condition
    check_memory(
        16 * weights, "the network and its optimiser", flags("num_hidden", "num_blocks", "pre_mlp_units", "n_step")
    )
    for key in ("batch_size", "test_batch_size"):
        check_memory(
            4 * getattr(params, key) * blocks * max(params.num_hidden, params.n_step),
            f"a {key} batch",
            flags(key, "num_hidden", "num_blocks", "n_step"),
        )


def parse_train_params(argv: list[str] | None = None, params_file: Path = PARAMS_FILE) -> Namespace:
    """Parse and check the command line against `params_file`; `model` is resolved from the switches."""
    params = parse_params(params_file, argv, RULES, description="Train a prior over expert actions.")
    params.model = resolve_model(params)
    check_combinations(params)
    check_sizes(params, load_defaults(params_file))
    return params
