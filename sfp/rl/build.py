"""Everything one downstream-RL run is made of, built from its parameters (before any training step).

`build_experiment(params)` makes the training and test environments (with the `action_prior` wrapper), loads the
frozen prior and the expert dataset when the run needs them (with a clear error naming the command that makes a
missing one), and builds the agent, the replay buffer, the initial-window sampler and PolyRL.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium
import numpy as np
import torch

from sfp import paths
from sfp.data.dataset import ExpertData
from sfp.envs import env_family, make_env_from_params
from sfp.errors import UserError
from sfp.rl.action_priors import ACTION_PRIORS_TABLE, action_box, data_name, load_run_dataset
from sfp.rl.action_windows import InitialWindows
from sfp.rl.agent import SACAgent
from sfp.rl.mixture import MixturePrior, mixture_prior_from_params
from sfp.rl.params import RLParams
from sfp.rl.polyrl import PolyRL
from sfp.rl.replay import ReplayBuffer
from sfp.rl.wrappers import wrap_action_prior


@dataclass
class Experiment:
    params: RLParams
    env: gymnasium.Env
    test_env: gymnasium.Env
    agent: SACAgent
    buffer: ReplayBuffer
    windows: InitialWindows
    polyrl: PolyRL | None
    device: torch.device
    dataset: ExpertData | None = None
    files: dict[str, Path | None] = field(default_factory=dict)  # dataset and prior used (provenance)


def observation_layout(space: gymnasium.Space) -> tuple[int | None, int, tuple]:
    """(agent input width D, or None for images; goal width G; stored observation shape) of an env's space."""
    if isinstance(space, gymnasium.spaces.Dict):
        obs_dim, goal_dim = _shape(space["observation"])[0], _shape(space["desired_goal"])[0]
        return obs_dim + goal_dim, goal_dim, (obs_dim,)
    shape = _shape(space)
    if len(shape) == 3:
        return None, 0, shape
    return shape[0], 0, shape


def _shape(space: gymnasium.Space) -> tuple[int, ...]:
    assert space.shape is not None, f"{space} has no shape"  # the Box spaces of every task
    return tuple(space.shape)


def flat_observation(obs) -> np.ndarray:
    """The agent's input: [observation, desired_goal] for dict observations, else the observation itself."""
    if isinstance(obs, dict):
        return np.concatenate([obs["observation"], obs["desired_goal"]]).astype(np.float32)
    return np.asarray(obs, np.float32)


def reward_bounds(env: gymnasium.Env, params) -> tuple[float, float]:
    """(lowest, highest) reward of one step, which clip_rew clips n-step rewards to: a Gymnasium goal task's own
    (sfp.envs.gym_task), else this project's 0/1, or -1/0 with neg_rew."""
    if env_family(params.env) == "gym":
        return env.get_wrapper_attr("reward_bounds") or (-math.inf, math.inf)
    return (-1.0, 0.0) if params.neg_rew else (0.0, 1.0)


def needs_action_windows(params) -> bool:
    """Whether the agent conditions a prior on previous actions (then the first window comes from the dataset)."""
    uses_prior = params.use_prior or params.kl_reg
    return uses_prior and not params.one_step and params.prior_cond in ("action", "action+state")


def load_agent_prior(params, env: gymnasium.Env, device: torch.device) -> tuple[MixturePrior, Path]:
    """The frozen prior named by prior_model / prior_cond / prior_n_step / data_ratio / one_step."""
    from sfp.priors.loading import load_prior

    path = paths.prior_checkpoint(
        data_name(env, params),
        params.prior_model,
        params.prior_cond,
        params.prior_n_step,
        params.data_ratio,
        params.one_step,
    )
    prior = load_prior(path, str(device))
    obs_dim, goal_dim, stored_shape = observation_layout(env.observation_space)
    state_dim = stored_shape[0] if obs_dim is not None else None
    act_dim = action_box(env).shape[0]
    return mixture_prior_from_params(prior, params, state_dim, goal_dim, act_dim), path


def build_experiment(params: RLParams) -> Experiment:
    device = torch.device("cuda" if params.gpu else "cpu")
    env = wrap_action_prior(make_env_from_params(params), params, device)
    test_env = wrap_action_prior(make_env_from_params(params), params, device)
    obs_dim, goal_dim, stored_shape = observation_layout(env.observation_space)
    act_dim = action_box(env).shape[0]
    max_steps = min(env.get_wrapper_attr("max_steps"), params.max_ep_len)  # agent steps (n-step wrappers)
    if params.replay_size < max_steps:
        raise UserError(f"--replay_size {params.replay_size} cannot hold one {max_steps}-step episode; raise it")

    wrapper_prior = getattr(env, "prior", None)  # PARROT and flow wrappers act through a prior of their own
    files = {"action_prior": wrapper_prior.path} if wrapper_prior is not None else {}
    prior = None
    if params.use_prior or params.kl_reg:
        prior, files["prior"] = load_agent_prior(params, env, device)
    dataset = None
    if needs_action_windows(params) or params.bc_epochs > 0:
        dataset = load_run_dataset(env, params)
        files["dataset"] = dataset.path

    agent = SACAgent(params, obs_dim, act_dim, prior, device)
    reward_fn = env.get_wrapper_attr("compute_reward") if params.goal_cond else None
    buffer = ReplayBuffer(
        stored_shape,
        goal_dim,
        act_dim,
        params.prior_n_step * act_dim,
        params.replay_size,
        params.gamma,
        params.n_step_rew,
        params.her,
        params.replay_k,
        reward_fn,
        params.clip_rew,
        reward_range=reward_bounds(env, params),
        prioritize=params.prioritize,
        per_alpha=params.prioritize_alpha,
        per_beta=params.prioritize_beta,
        per_epsilon=params.prioritize_epsilon,
        device=device,
        seed=params.seed,
        image_obs=obs_dim is None,
    )
    windows = InitialWindows(
        dataset if needs_action_windows(params) else None,
        params.prior_n_step,
        act_dim,
        params.rand_init_cond,
        params.seed,
    )
    polyrl = None
    if params.use_polyrl:
        flat_dim = obs_dim if obs_dim is not None else int(np.prod(stored_shape))
        polyrl = PolyRL(params.env, flat_dim, act_dim, np.random.default_rng(params.seed))
    return Experiment(params, env, test_env, agent, buffer, windows, polyrl, device, dataset, files)


def required_priors(params) -> list[tuple[str, str, int, float, bool]]:
    """The prior checkpoints a run loads, as (model, cond, n_step, data_ratio, one_step): the agent's prior
    (use_prior / kl_reg) and the flow the action wrapper acts through (its row of sfp.rl.action_priors)."""
    needed = []
    if params.use_prior or params.kl_reg:
        needed.append((params.prior_model, params.prior_cond, params.prior_n_step, params.data_ratio, params.one_step))
    wrapper_flow = ACTION_PRIORS_TABLE[params.action_prior].flow
    if wrapper_flow is not None:
        needed.append(("flow", *wrapper_flow(params), params.data_ratio, params.one_step))
    return needed


def needs_dataset(params) -> bool:
    """Whether a run reads the expert dataset (initial prior windows, behaviour cloning, an action wrapper whose row
    says so)."""
    wrapper_reads_it = ACTION_PRIORS_TABLE[params.action_prior].needs_dataset
    return needs_action_windows(params) or params.bc_epochs > 0 or wrapper_reads_it
