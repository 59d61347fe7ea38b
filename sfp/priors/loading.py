"""Trained priors for RL: `load_prior(path)` rebuilds any checkpoint written by flows/train.py, frozen.

    prior = load_prior(sfp.paths.prior_checkpoint("maze", "flow", "action", 1))
    action = prior.sample(last_actions)            # (B, n·A) -> (B, A), unclamped
    log_p = prior.log_prob(action, last_actions)   # (B,)

Shapes: cond (B, cond_dim) for vector conditions ((B, 3, 64, 64) for image priors), None for one-step priors.
"""

from pathlib import Path

import torch

from sfp import paths
from sfp.data.dataset import no_dataset
from sfp.errors import UserError
from sfp.invocation import command
from sfp.priors.base import PriorModel
from sfp.priors.frozen_sampler import FrozenRealNVPSampler
from sfp.priors.frozen_sampler import supports as supports_fused
from sfp.priors.models import Gaussian
from sfp.priors.realnvp import ConditionalRealNVP


def prior_command(
    name: str, model: str, cond: str, n_step: int, data_ratio: float = 1.0, one_step: bool = False
) -> str:
    """The prior-training command line (sfp.invocation) that writes the checkpoint of these settings (`name`: the
    data name)."""
    short, expert = paths.split_data_name(name)
    suite = {value: key for key, value in paths.SUITES.items()}.get(short, short)
    line = f"{command('sfp-train-prior')} --env {suite} --model {model} --mode {cond} --n_step {n_step}"
    if expert != paths.DEFAULT_EXPERT:
        line += f" --expert {expert}"
    if data_ratio < 1.0:
        line += f" --data_ratio {data_ratio}"
    if one_step:
        line += " --one_step True"
    return line


def command_for_checkpoint(path: Path) -> str:
    """prior_command of a checkpoint file name, or the bare training command if the name is not a standard one."""
    name, _, rest = path.stem.partition("_primitive_")
    parts = rest.split("_")
    if len(parts) < 3 or not parts[2].isdigit():
        return command("sfp-train-prior")
    model, cond, n_step, tail = parts[0], parts[1], int(parts[2]), "_".join(parts[3:])
    one_step = tail == "one_step"
    try:
        ratio = 1.0 if one_step or not tail else float(tail)
    except ValueError:
        return command("sfp-train-prior")
    return prior_command(name, model, cond, n_step, ratio, one_step)


class Prior:
    """A frozen prior. `model` is the model name (flow, deterministic, gaussian, vae, lscde); `network` the module."""

    def __init__(self, network: PriorModel, config: dict, path: Path):
        self.network, self.config, self.path = network, config, path
        self.model, self.mode = config["model"], config["mode"]
        self.n_step, self.one_step = config["n_step"], config["one_step"]
        self.action_dim, self.cond_dim = config["action_dim"], config["cond_dim"]
        self._fused = FrozenRealNVPSampler(network) if supports_fused(network) else None  # same result, faster

    def sample(self, cond: torch.Tensor | None, num: int | None = None) -> torch.Tensor:
        """One action per row, (B, A), no gradient, unclamped. One-step priors ignore cond; B = num or len(cond)."""
        if num is not None:
            count = num
        else:
            assert cond is not None, "Prior.sample needs num or cond"
            count = len(cond)
        cond = None if self.one_step else cond
        if self._fused is not None:
            return self._fused.transform(torch.randn(count, self.action_dim, device=self._fused.device), cond)
        with torch.no_grad():
            return self.network.sample(cond, count)

    def log_prob(self, action: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """log p(a | c), (B,): exact for flow, gaussian and lscde; a single-sample ELBO for vae; the
        deterministic prior has none (UserError). Gradients flow to the inputs, not the frozen parameters."""
        return self.network.log_prob(action, None if self.one_step else cond)

    def gaussian(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu (B, A), log_std (B, A)) of the gaussian prior, in tanh pre-activation space."""
        if self.model != "gaussian":
            raise UserError(f"{self.path.name} is a {self.model} prior; the KL baseline needs --prior_model gaussian")
        assert isinstance(self.network, Gaussian)  # build_model's "gaussian" model
        return self.network.gaussian(cond)

    def transform(self, z: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """Latent noise (B, A) -> actions (B, A) through the inverse flow (PARROT's action remapping)."""
        if self.model != "flow":
            raise UserError(f"{self.path.name} is a {self.model} prior; latent actions need a flow prior")
        cond = None if self.one_step else cond
        if self._fused is not None:
            return self._fused.transform(z, cond)
        assert isinstance(self.network, ConditionalRealNVP)  # build_model's "flow" model
        return self.network.transform(z, cond)


def load_prior(path: str | Path, device: str = "cpu") -> Prior:
    """The frozen prior in `path` on `device`. UserError if it is missing (naming the command that trains it),
    corrupt, or trained on another expert's data than its name says (sfp.paths.data_name)."""
    from sfp.priors.checkpoint import load_model

    path = Path(path)
    name, standard, _ = path.stem.partition("_primitive_")
    if not path.exists():
        data = paths.dataset_file(name)
        if standard and paths.split_data_name(name)[0] not in paths.SHORT_NAMES and not data.exists():
            raise UserError(f"no prior checkpoint at {path}, nor data to train one on: {no_dataset(name)}")
        raise UserError(f"no prior checkpoint at {path}; train it with: {command_for_checkpoint(path)}")
    network, config = load_model(path, device)
    expert = paths.split_data_name(name)[1]
    if standard and config.get("expert") not in (None, expert):
        raise UserError(
            f"{path} was trained on the {config['expert']!r} expert's data, not {expert!r}; move it "
            f"away and train it with: {command_for_checkpoint(path)}"
        )
    return Prior(network, config, path)
