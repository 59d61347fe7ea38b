"""The action wrappers of --action_prior, one row each: how it wraps the environment, the flow checkpoint it acts
through, whether it reads the expert dataset, and one line saying what it does.

Everything that depends on the action wrapper reads ACTION_PRIORS_TABLE: wrap_action_prior (sfp.rl.wrappers),
required_priors and needs_dataset (sfp.rl.build), and the choices and checks of --action_prior (sfp.rl.params).
Flow checkpoints are $SFP_FLOW_DIR/<name>_primitive_flow_<cond>_<n>[_<ratio>|_one_step].pt (sfp.paths; <name> the
data name of the env's short name and --expert), honouring --data_ratio and --one_step. The builders import
sfp.rl.wrappers when called (it imports this table), so that sfp.rl.params can import this module.
"""

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium

from sfp import paths
from sfp.data.dataset import ExpertData, action_width, collect_command, data_names, load_dataset
from sfp.errors import UserError
from sfp.invocation import command
from sfp.rl.action_windows import InitialWindows


@dataclass(frozen=True)
class ActionPrior:
    """One --action_prior. build(env, params, device) -> the wrapped env (compute_reward, short_name and max_steps
    kept reachable); flow(params) -> (cond, n_step) of the flow checkpoint it acts through, None for none."""

    doc: str
    build: Callable
    flow: Callable | None = None
    needs_dataset: bool = False  # reads the expert dataset (its initial conditions at reset)


def action_box(env: gymnasium.Env) -> gymnasium.spaces.Box:
    """env's action space: a Box for every env SAC runs on (sfp.envs.gym_task.check_supported refuses others)."""
    space = env.action_space
    assert isinstance(space, gymnasium.spaces.Box), f"{space} actions: SAC needs a Box"
    return space


def _width(space: gymnasium.Space) -> int:
    """The width of a flat Box space (a vector observation or its goal)."""
    assert isinstance(space, gymnasium.spaces.Box), f"{space}: a vector space needs a Box"
    return space.shape[0]


def load_flow_prior(name: str, cond: str, n_step: int, data_ratio: float, one_step: bool, device="cpu"):
    """The frozen flow prior of a checkpoint of data name `name` (sfp.priors.loading.load_prior: a UserError naming
    the training command when it is missing)."""
    from sfp.priors.loading import load_prior

    return load_prior(paths.prior_checkpoint(name, "flow", cond, n_step, data_ratio, one_step), device)


def data_name(env: gymnasium.Env, params) -> str:
    """The data name of the run's dataset and priors: --prior_data, else sfp.paths.data_name of the env's short
    name and --expert."""
    if params.prior_data:
        return params.prior_data
    short = env.get_wrapper_attr("short_name")
    if not short:
        raise UserError(
            f"{params.env} has no built-in prior data: name a dataset of $D4RL_DATASET_DIR with --prior_data (make "
            f"one with {command('sfp-collect')} --env {params.env} --expert <module:callable>)"
        )
    return paths.data_name(short, params.expert)


def load_run_dataset(env: gymnasium.Env, params) -> ExpertData:
    """The run's expert dataset, refused when its actions are not as wide as `env`'s."""
    name = data_name(env, params)
    data = load_dataset(name)  # checked: finite, float, the suite's action width
    action_dim, width = action_box(env).shape[0], data.actions.shape[1]
    if width != action_dim:
        data.close()
        if params.prior_data:
            raise UserError(
                f"--prior_data {name}: {data.path} holds {width}-dim actions but {params.env} takes {action_dim}-dim "
                f"ones; {fitting_data(env, params, action_dim)}"
            )
        raise UserError(
            f"{data.path}: actions have {width} entries per row but the environment has {action_dim}; it belongs "
            f"to another suite: move it away and make it again with: {collect_command(name)}"
        )
    return data


def fitting_data(env: gymnasium.Env, params, action_dim: int) -> str:
    """What a run may name with --prior_data instead: the datasets of `action_dim`-dim actions, the task's own data
    or a new collection."""
    folder = paths.dataset_dir()
    fitting = [name for name in data_names() if action_width(name) == action_dim]
    own = (
        "drop --prior_data for the task's own data"
        if env.get_wrapper_attr("short_name")
        else f"collect data with {command('sfp-collect')} --env {params.env} --expert <module:callable> --name "
        "<data name> (docs/data.md)"
    )
    if fitting:
        return f"pass --prior_data {' or '.join(fitting)} (the data of {action_dim}-dim actions in {folder}), or {own}"
    return f"{folder} holds no data of {action_dim}-dim actions: {own}"


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
    data = load_run_dataset(env, params)
    return InitialWindows(data, n, action_box(env).shape[0], params.rand_init_cond, params.seed)


def _wrappers():
    """sfp.rl.wrappers, imported when a wrapper is built (it imports this module)."""
    from sfp.rl import wrappers

    return wrappers


def _is_image_env(env: gymnasium.Env) -> bool:
    return len(env.observation_space.shape or ()) == 3


def _condition_dim(env: gymnasium.Env, mode: str) -> int | None:
    """Width of a PARROT condition; None for images."""
    space = env.observation_space
    if mode == "image":
        return None
    if mode == "action":
        return action_box(env).shape[0]
    if mode == "state+goal":
        assert isinstance(space, gymnasium.spaces.Dict)  # _parrot_state asks for state+goal with Dict observations
        return _width(space["observation"]) + _width(space["desired_goal"])
    return _width(space["observation"] if isinstance(space, gymnasium.spaces.Dict) else space)


def _parrot(env, params, device, mode: str):
    prior = load_flow_prior(data_name(env, params), mode, 1, params.data_ratio, params.one_step, device)
    check_prior_dims(prior, mode, env.action_space.shape[0], _condition_dim(env, mode))
    windows = _initial_windows(env, params, 1) if mode == "action" and not params.one_step else None
    return _wrappers().ParrotWrapper(env, prior, "none" if params.one_step else mode, device, windows)


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
    return _wrappers().FlowLatentWrapper(env, prior, n, _initial_windows(env, params, n), device)


ACTION_PRIORS_TABLE = {
    "none": ActionPrior("the plain environment", lambda env, params, device: env),
    "parrot_state": ActionPrior(
        "PARROT with a state flow (goal-conditioned: state+goal)",
        _parrot_state,
        flow=lambda params: ("state+goal" if params.goal_cond else "state", 1),
    ),
    "parrot_image": ActionPrior(
        "PARROT with an image flow (--visual True)", _parrot_image, flow=lambda params: ("image", 1)
    ),
    "parrot_action": ActionPrior(
        "PARROT conditioned on the last executed action (the SFP flow, n = 1)",
        _parrot_action,
        flow=lambda params: ("action", 1),
        needs_dataset=True,
    ),
    "ez-greedy": ActionPrior(
        "temporally-extended epsilon-greedy, mu = 2, epsilon = 0.3",
        lambda env, params, device: _wrappers().EzGreedyWrapper(env, seed=params.seed),
    ),
    "nstep": ActionPrior(
        "one agent action = n env actions (n = prior_n_step)",
        lambda env, params, device: _wrappers().NStepWrapper(env, params.prior_n_step),
    ),
    "diagonal": ActionPrior(
        "one agent action repeated n times (n = prior_n_step)",
        lambda env, params, device: _wrappers().ActionRepeatWrapper(env, params.prior_n_step),
    ),
    "densediagonal": ActionPrior(
        "a new agent action every n env steps (n = prior_n_step)",
        lambda env, params, device: _wrappers().DenseActionRepeatWrapper(env, params.prior_n_step),
    ),
    "flow": ActionPrior(
        "the agent acts in the SFP flow's latent space, n latents per step (n = prior_n_step)",
        _flow,
        flow=lambda params: ("action", params.prior_n_step),
        needs_dataset=True,
    ),
}
ACTION_PRIORS = ACTION_PRIORS_TABLE.keys()  # the choices of --action_prior, a live view: a row added is a choice
