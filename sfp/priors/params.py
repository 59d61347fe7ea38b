"""flows/train.py parameters: the file, the value rules, and the combinations refused before any work starts."""

from dataclasses import dataclass
from pathlib import Path

import torch

from sfp import paths
from sfp.config import check_memory, load_defaults, parse_params
from sfp.errors import UserError
from sfp.paths import EXPERTS
from sfp.priors.conditioners import ACTIVATIONS
from sfp.priors.factory import MODELS
from sfp.priors.windows import MODES
from sfp.schema import SEED_MAX, Params, param

PARAMS_FILE = Path(__file__).resolve().parent / "default_params.json"


@dataclass
class PriorParams(Params):
    """flows/train.py's parameters: its flags, flows/default_params.json and docs/parameters.md come from here."""

    env: str = param("meta-world", "environment suite (meta-world, point-maze, or a locomotion body such as hopper)")
    expert: str = param(
        "original",
        "point-maze only: the dataset of the original expert (the paper's data) or of the fixed one",
        choices=EXPERTS,
    )
    mode: str = param(
        "action",
        "conditioning variable (also 'state', 'image', 'action+state' or 'state+goal')",
        choices=MODES,
    )
    n_step: int = param(1, "number of steps to condition upon", min=1)
    batch_size: int = param(400, "input batch size for training", min=1)
    test_batch_size: int = param(1000, "input batch size for testing", min=1)
    epochs: int = param(100, "number of epochs to train for", min=1)
    lr: float = param(0.0001, "learning rate", min=0)
    num_blocks: int = param(6, "number of invertible blocks", min=1)
    num_hidden: int = param(128, "number of hidden units", min=1)
    t_act: str = param(
        "relu",
        "activation of the s/t trunk, the translation network and the pre-MLP",
        choices=tuple(ACTIVATIONS),
    )
    s_act: str = param("relu", "activation of the scale network (only with --shared False)", choices=tuple(ACTIVATIONS))
    bn: bool = param(True, "batch normalization")
    shared: bool = param(True, "whether to share parameters in the coupling layers")
    pre_mlp: bool = param(True, "whether to preprocess actions before pushing through s/t networks")
    pre_mlp_units: int = param(128, "units for preprocessing conditioning input", min=1)
    seed: int = param(1, "random seed", min=0, max=SEED_MAX)
    num_threads: int = param(8, "number of torch threads (clamped to the cores available)", min=1)
    log_interval: int = param(1000, "how many batches to wait before logging training status", min=1)
    one_step: bool = param(False, "enables learning single action distributions")
    debug: bool = param(False, "10 trajectories, logs in the temp folder, never writes the flow directory")
    device: str = param("cpu", "torch device (cpu or cuda)")
    deterministic: bool = param(False, "use deterministic actor instead of density model")
    gaussian: bool = param(False, "learn a gaussian prior")
    data_ratio: float = param(1.0, "fraction of data to be used for training", max=1.0)
    model: str = param(
        "flow",
        "prior model: flow, deterministic, gaussian, vae or lscde (--deterministic/--gaussian True also select theirs)",
        choices=MODELS,
    )
    weight_decay: float = param(1e-06, "Adam weight decay", min=0)
    patience: int = param(30, "early stopping: epochs without validation improvement before training stops", min=1)
    exp_name: str = param(
        "",
        "log directory name under $SFP_LOG_DIR (default flows_<short>_<model>_<mode>_<n_step>[_<ratio>|_one_step])",
        name=True,
        optional=True,
    )
    overwrite: bool = param(False, "replace an existing checkpoint even if it is better or was trained differently")
    diagnose_only: bool = param(False, "skip training: write the diagnostics of the existing checkpoint")
    resume: bool = param(
        False,
        "require continuing the newest unfinished run of this prior (it is continued anyway when its "
        "parameters are identical); refused if there is none or its parameters differ",
    )


def resolve_model(params: PriorParams) -> str:
    """The model chosen by --model and the seed's --deterministic / --gaussian switches."""
    switched = [name for name in ("deterministic", "gaussian") if getattr(params, name)]
    if len(switched) > 1 or (switched and params.model not in ("flow", switched[0])):
        raise UserError(f"--model {params.model} conflicts with --{' / --'.join(switched)} True; choose one model")
    return switched[0] if switched else params.model


def check_combinations(params: PriorParams) -> None:
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


def check_sizes(params: PriorParams, defaults: dict) -> None:
    """Networks and batches that cannot fit in this machine's memory: one line naming the flag, before any work."""

    def flags(*keys):
        return {key: (params.value(key), defaults[key][0]) for key in keys}

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


def parse_train_params(argv: list[str] | None = None, params_file: Path = PARAMS_FILE) -> PriorParams:
    """Parse and check the command line against `params_file`; `model` is resolved from the switches."""
    params = parse_params(PriorParams, params_file, argv, "Train a prior over expert actions.")
    params.model = resolve_model(params)
    check_combinations(params)
    check_sizes(params, load_defaults(params_file, PriorParams))
    return params
