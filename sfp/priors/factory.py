"""Model names, the config that describes a prior, and building a model from it (for training and loading)."""

import math

from sfp.priors.base import PriorModel
from sfp.priors.lscde import LSCDE
from sfp.priors.models import ConditionalVAE, Deterministic, Gaussian
from sfp.priors.realnvp import ConditionalRealNVP

MODELS = ("flow", "deterministic", "gaussian", "vae", "lscde")
FLOW_KEYS = ("num_blocks", "s_act", "t_act", "bn", "shared", "pre_mlp", "pre_mlp_units")
LSCDE_KERNELS = 500
# A checkpoint is replaced only by a run that agrees on all of these (sfp.priors.checkpoint).
IDENTITY_KEYS = (
    "short",
    "model",
    "mode",
    "n_step",
    "one_step",
    "data_ratio",
    "action_dim",
    "cond_shape",
    "dataset_md5",
    "num_hidden",
    *FLOW_KEYS,
    "num_kernels",
)


def model_config(
    params, short: str, action_dim: int, cond_shape: tuple[int, ...], train_rows: int, dataset_md5: str
) -> dict:
    """Everything needed to rebuild the model of `params` (a namespace of flows/default_params.json keys)."""
    config = {
        "short": short,
        "model": params.model,
        "mode": params.mode,
        "n_step": params.n_step,
        "one_step": params.one_step,
        "data_ratio": params.data_ratio,
        "action_dim": action_dim,
        "cond_shape": list(cond_shape),
        "cond_dim": math.prod(cond_shape) if cond_shape else 0,
        "dataset_md5": dataset_md5,
        "num_hidden": params.num_hidden,
    }
    if params.model == "flow":
        config.update({key: getattr(params, key) for key in FLOW_KEYS})
    if params.model == "lscde":
        config["num_kernels"] = min(LSCDE_KERNELS, train_rows)
    return config


def build_model(config: dict) -> PriorModel:
    """A freshly initialised model of the config (a checkpoint's state_dict then fills it)."""
    action_dim, cond_dim, hidden = config["action_dim"], config["cond_dim"], config["num_hidden"]
    if config["model"] == "flow":
        image = len(config["cond_shape"]) == 3
        return ConditionalRealNVP(
            action_dim,
            0 if image else cond_dim,
            num_hidden=hidden,
            image=image,
            **{key: config[key] for key in FLOW_KEYS},
        )
    if config["model"] == "lscde":
        return LSCDE(action_dim, cond_dim, config["num_kernels"])
    classes = {"deterministic": Deterministic, "gaussian": Gaussian, "vae": ConditionalVAE}
    return classes[config["model"]](action_dim, cond_dim, hidden)
