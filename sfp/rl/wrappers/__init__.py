"""Action wrappers around an environment of sfp.envs.make_env, chosen by params.action_prior.

Each --action_prior is a row of sfp.rl.action_priors.ACTION_PRIORS_TABLE: how it wraps the env, the flow checkpoint
it acts through, whether it reads the expert dataset, what it does. The wrapper classes are the modules here: parrot
(parrot_state, parrot_image, parrot_action), ez_greedy (ez-greedy), repeat (nstep, diagonal, densediagonal) and
flow_latent (flow), each a base.TaskWrapper, which keeps compute_reward, short_name and max_steps reachable. A new
wrapper is its class in a module of this package and its row in the table (docs/development.md, "How to add a
baseline").
"""

import gymnasium

from sfp.errors import UserError
from sfp.rl.action_priors import ACTION_PRIORS_TABLE
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
    "TaskWrapper",
    "ParrotWrapper",
    "EzGreedyWrapper",
    "NStepWrapper",
    "ActionRepeatWrapper",
    "DenseActionRepeatWrapper",
    "FlowLatentWrapper",
]


def wrap_action_prior(env: gymnasium.Env, params, device="cpu") -> gymnasium.Env:
    """Wrap `env` as params.action_prior says (uses params.prior_n_step, data_ratio, one_step, seed)."""
    if params.action_prior not in ACTION_PRIORS_TABLE:
        raise UserError(f"--action_prior {params.action_prior!r} is not one of {', '.join(ACTION_PRIORS_TABLE)}")
    return ACTION_PRIORS_TABLE[params.action_prior].build(env, params, device)
