"""Action wrappers around an environment of sfp.envs.make_env, chosen by params.action_prior.

  none           the plain environment
  parrot_state   PARROT with a state (goal-conditioned: state+goal) flow          sfp.rl.wrappers.parrot
  parrot_image   PARROT with an image flow (--visual True)                        sfp.rl.wrappers.parrot
  parrot_action  PARROT conditioned on the last executed action (the SFP flow, n = 1)
  ez-greedy      temporally-extended epsilon-greedy, mu = 2, epsilon = 0.3         sfp.rl.wrappers.ez_greedy
  nstep          one agent action = n env actions          (n = prior_n_step)      sfp.rl.wrappers.repeat
  diagonal       one agent action repeated n times          (n = prior_n_step)
  densediagonal  a new agent action every n env steps       (n = prior_n_step)
  flow           the agent acts in the SFP flow's latent space, n latents per step  sfp.rl.wrappers.flow_latent
Flow checkpoints are $SFP_FLOW_DIR/<name>_primitive_flow_<cond>_<n>[_<ratio>|_one_step].pt (sfp.paths; <name> the
data name of the env's short name and --expert), honouring --data_ratio and --one_step. Every wrapper keeps
compute_reward, short_name and max_steps reachable.
"""

import gymnasium

from sfp import paths
from sfp.data import dataset
from sfp.errors import UserError
from sfp.rl.action_windows import InitialWindows
from sfp.rl.wrappers.base import TaskWrapper
from sfp.rl.wrappers.ez_greedy import EzGreedyWrapper
from sfp.rl.wrappers.flow_latent import FlowLatentWrapper
from sfp.rl.wrappers.parrot import ParrotWrapper
from sfp.rl.wrappers.repeat import (
    ActionRepeatWrapper,
    DenseActionRepeatWrapper,
    NStepWrapper,
)

__all__ = [
    "wrap_action_prior",
    "load_flow_prior",
    "TaskWrapper",
    "ParrotWrapper",
    "EzGreedyWrapper",
    "NStepWrapper",
    "ActionRepeatWrapper",
    "DenseActionRepeatWrapper",
    "FlowLatentWrapper",
]


def load_flow_prior(name: str, cond: str, n_step: int, data_ratio: float, one_step: bool, device="cpu"):
    """The frozen flow prior of a checkpoint of data name `name` (sfp.priors.loading.load_prior: a UserError naming
    the training command when it is missing)."""
    from sfp.priors.loading import load_prior

    return load_prior(paths.prior_checkpoint(name, "flow", cond, n_step, data_ratio, one_step), device)


def data_name(env: gymnasium.Env, params) -> str:
    """The data name of the run's dataset and priors (sfp.paths.data_name of the env and --expert)."""
    return paths.data_name(env.get_wrapper_attr("short_name"), params.expert)


def check_prior_dims(prior, cond: str, action_dim: int, cond_dim: int | None) -> None:
    """The prior must model this env's actions and (unless unconditional or image) take a cond_dim condition."""
    if prior.action_dim != action_dim:
        raise UserError(
            f"the {cond} prior models {prior.action_dim}-dim actions but the environment has "
            f"{action_dim}; train the prior on this environment's suite"
        )
    if cond_dim is not None and not prior.one_step and prior.cond_dim != cond_dim:
        raise UserError(
            f"the {cond} prior takes a {prior.cond_dim}-dim condition but this run gives {cond_dim}; "
            f"train it with the matching --mode and --n_step"
        )


def _initial_windows(env: gymnasium.Env, params, n: int) -> InitialWindows:
    """(n, A) windows of expert actions for the initial conditions at reset."""
    data = dataset.load_dataset(data_name(env, params))
    action_dim = env.action_space.shape[0]
    if data.actions.shape[1] != action_dim:
        raise UserError(
            f"the dataset {data.path} has {data.actions.shape[1]}-dim actions, the environment "
            f"{action_dim}: it belongs to another suite"
        )
    return InitialWindows(data, n, action_dim, params.rand_init_cond, params.seed)


def _is_image_env(env: gymnasium.Env) -> bool:
    return len(env.observation_space.shape or ()) == 3


def _condition_dim(env: gymnasium.Env, mode: str) -> int | None:
    """Width of a PARROT condition; None for images."""
    space = env.observation_space
    if mode == "image":
        return None
    if mode == "action":
        return env.action_space.shape[0]
    if mode == "state+goal":
        return space["observation"].shape[0] + space["desired_goal"].shape[0]
    return (space["observation"] if isinstance(space, gymnasium.spaces.Dict) else space).shape[0]


def _parrot(env, params, device, mode: str):
    prior = load_flow_prior(data_name(env, params), mode, 1, params.data_ratio, params.one_step, device)
    check_prior_dims(prior, mode, env.action_space.shape[0], _condition_dim(env, mode))
    windows = _initial_windows(env, params, 1) if mode == "action" and not params.one_step else None
    return ParrotWrapper(env, prior, "none" if params.one_step else mode, device, windows)


def _parrot_state(env, params, device):
    if _is_image_env(env):
        raise UserError("--action_prior parrot_state needs vector observations; use parrot_image with --visual True")
    goal_conditioned = isinstance(env.observation_space, gymnasium.spaces.Dict)
    return _parrot(env, params, device, "state+goal" if goal_conditioned else "state")


def _parrot_image(env, params, device):
    if not _is_image_env(env):
        raise UserError("--action_prior parrot_image needs image observations: add --visual True")
    return _parrot(env, params, device, "image")


def _parrot_action(env, params, device):
    return _parrot(env, params, device, "action")


def _flow(env, params, device):
    n = params.prior_n_step
    action_dim = env.action_space.shape[0]
    prior = load_flow_prior(data_name(env, params), "action", n, params.data_ratio, params.one_step, device)
    check_prior_dims(prior, "action", action_dim, n * action_dim)
    return FlowLatentWrapper(env, prior, n, _initial_windows(env, params, n), device)


BUILDERS = {
    "none": lambda env, params, device: env,
    "parrot_state": _parrot_state,
    "parrot_image": _parrot_image,
    "parrot_action": _parrot_action,
    "ez-greedy": lambda env, params, device: EzGreedyWrapper(env, seed=params.seed),
    "nstep": lambda env, params, device: NStepWrapper(env, params.prior_n_step),
    "diagonal": lambda env, params, device: ActionRepeatWrapper(env, params.prior_n_step),
    "densediagonal": lambda env, params, device: DenseActionRepeatWrapper(env, params.prior_n_step),
    "flow": _flow,
}


def wrap_action_prior(env: gymnasium.Env, params, device="cpu") -> gymnasium.Env:
    """Wrap `env` as params.action_prior says (uses params.prior_n_step, data_ratio, one_step, seed)."""
    if params.action_prior not in BUILDERS:
        raise UserError(f"--action_prior {params.action_prior!r} is not one of {', '.join(BUILDERS)}")
    return BUILDERS[params.action_prior](env, params, device)
