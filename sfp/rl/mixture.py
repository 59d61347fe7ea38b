"""The frozen action prior as the RL agent uses it: condition building, sampling, clamp, smoothing.

Notation: B batch, S observation width, G goal width, D = S + G (goal-conditioned) or S, A actions,
n = prior_n_step. The agent's observation vector is [observation (S), desired_goal (G)]; the window is the n actions
executed before the current state, oldest first (n*A).

Condition per `prior_cond` (must match what flows/train.py trained on, checked against the prior's cond_dim):
  action        window                              (B, n*A)   the state-free prior p(a_t | a_{t-n..t-1})
  state         observation                         (B, S)
  state+goal    [observation, desired_goal]         (B, S+G)
  action+state  [window, observation, desired_goal] (B, n*A+S+G) the layout sfp/priors/windows.py trains on
                ([a_{t-n}..a_{t-1}, s_t, g_t]; the original release interleaved states for n > 1)
  one_step prior: no condition.
flows trains state/state+goal priors with n > 1 on stacked past states, which the agent does not keep: such a prior
is refused by the width check.
"""

import torch

from sfp.errors import UserError
from sfp.invocation import command
from sfp.priors.windows import MODES
from sfp.rl.action_priors import check_prior_dims

# The prior conditionings the RL agent can feed (every mode of prior training but the image one, which PARROT-image
# uses through its wrapper).
PRIOR_CONDITIONS = tuple(mode for mode in MODES if mode != "image")
ACTION_BOUND = 0.99


def choose_prior_rows(lam: torch.Tensor) -> torch.Tensor:
    """Per-row Bernoulli draw: True with probability λ; (B,) -> (B,) bool."""
    return torch.rand_like(lam) < lam


def mix_actions(use_prior: torch.Tensor, prior_action: torch.Tensor, policy_action: torch.Tensor) -> torch.Tensor:
    """Row-wise choice between the prior's and the policy's action: (B,) bool, (B,A), (B,A) -> (B,A)."""
    return torch.where(use_prior.unsqueeze(-1), prior_action, policy_action)


class MixturePrior:
    """Wraps a loaded prior (sfp.priors.loading.Prior or any object with the same sample/gaussian interface).

    obs_dim: S (None for image observations); goal_dim: G (0 without goal conditioning); window_dim: n*A.
    clamp: support restriction (0 = clip to ±0.99); smoothing: probability of a uniform replacement.
    """

    def __init__(
        self,
        prior,
        cond: str,
        obs_dim: int | None,
        goal_dim: int,
        act_dim: int,
        window_dim: int,
        clamp: float = 0.0,
        smoothing: float = 0.0,
    ):
        if cond not in PRIOR_CONDITIONS:
            raise UserError(f"--prior_cond {cond!r} is not one of {', '.join(PRIOR_CONDITIONS)}")
        if not 0.0 <= clamp < ACTION_BOUND:
            raise UserError(f"--prior_clamp {clamp} must lie in [0, {ACTION_BOUND})")
        if not 0.0 <= smoothing <= 1.0:
            raise UserError(f"--prior_smoothing {smoothing} must lie in [0, 1]")
        check_prior_dims(prior, cond, act_dim, None)  # its condition's width: _check_width, which names the flags
        self.prior = prior
        self.cond = cond
        self.one_step = bool(prior.one_step)
        self.obs_dim = obs_dim
        self.clamp = clamp
        self.smoothing = smoothing
        if not self.one_step:
            self._check_width(obs_dim, goal_dim, act_dim, window_dim)

    def _check_width(self, obs_dim: int | None, goal_dim: int, act_dim: int, window_dim: int) -> None:
        if obs_dim is None and self.cond != "action":
            raise UserError(
                f"--prior_cond {self.cond} needs vector observations; with --visual True use --prior_cond action"
            )
        width = {
            "action": window_dim,
            "state": obs_dim,
            "state+goal": (obs_dim or 0) + goal_dim,
            "action+state": window_dim + (obs_dim or 0) + goal_dim,
        }[self.cond]
        if width != self.prior.cond_dim:
            raise UserError(
                f"the prior expects a {self.prior.cond_dim}-dim condition but --prior_cond {self.cond} "
                f"gives {width} here (check --prior_n_step and --goal_cond, or train the prior with "
                f"{command('sfp-train-prior')} --mode {self.cond} on this suite)"
            )

    def condition(self, obs: torch.Tensor, window: torch.Tensor) -> torch.Tensor | None:
        """The prior's condition: obs (B,D) or images, window (B,n*A) -> (B,C), or None for one_step priors."""
        if self.one_step:
            return None
        if self.cond == "action":
            return window
        if self.cond == "state":
            return obs[:, : self.obs_dim]
        if self.cond == "state+goal":
            return obs
        return torch.cat([window, obs], dim=-1)

    def sample(self, obs: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        """One prior action per row, clamped, smoothed, finite: -> (B,A)."""
        raw = self.prior.sample(self.condition(obs, window), num=window.shape[0])
        return self.postprocess(raw)

    def gaussian(self, obs: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu (B,A), log_std (B,A)) of a Gaussian prior (prior_model gaussian, for kl_reg)."""
        return self.prior.gaussian(self.condition(obs, window))

    def postprocess(self, action: torch.Tensor) -> torch.Tensor:
        """clip(a, ±(0.99 - clamp)) + clip(0.01 N(0,1), ±clamp); each row -> U(-1,1)^A with probability
        `smoothing`; NaN -> 0. (B,A) -> (B,A)."""
        bound = ACTION_BOUND - self.clamp
        action = action.clamp(-bound, bound)
        if self.clamp > 0:
            action = action + (0.01 * torch.randn_like(action)).clamp(-self.clamp, self.clamp)
        if self.smoothing > 0:
            uniform = torch.rand_like(action) * 2.0 - 1.0
            replace = torch.rand(action.shape[0], device=action.device) < self.smoothing
            action = mix_actions(replace, uniform, action)
        return torch.nan_to_num(action)


def mixture_prior_from_params(prior, params, obs_dim: int | None, goal_dim: int, act_dim: int) -> MixturePrior:
    """A MixturePrior configured by the RL parameters (prior_cond, prior_n_step, prior_clamp, prior_smoothing)."""
    return MixturePrior(
        prior,
        params.prior_cond,
        obs_dim,
        goal_dim,
        act_dim,
        params.prior_n_step * act_dim,
        clamp=params.prior_clamp,
        smoothing=params.prior_smoothing,
    )
