"""SAC with the state-free prior mixture (the equations: docs/method.md §2-§5 and §7).

Behaviour policy: with probability λ(s)·schedule the frozen prior's action (conditioned on the last n executed
actions), else the SAC policy's sample. The mixture also enters the critic target (next action drawn from it with the
unscheduled λ(s')), the actor loss (Q scaled by 1 - λ(s)) and λ's own loss. Notation: B batch, D observation width
([observation, desired_goal] when goal-conditioned), A actions, n*A the prior window. Batches follow the replay
contract (obs, obs2, act, rew, done, discount, window, window2, weights, ret).

α is fixed (`alpha`, as in the paper) or tuned (`autotune_alpha`): log α has its own Adam and follows
losses.alpha_loss with the policy's own reparameterised log π at s (the actor step's sample), also with the prior
mixture, whose actions have no density under π; the tuned α weighs the entropy term of the critic target and the
actor loss, or the KL of the kl_reg baseline.
"""

import copy
import math
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from sfp.errors import UserError
from sfp.invocation import command
from sfp.rl import losses
from sfp.rl.mixture import MixturePrior, choose_prior_rows, mix_actions
from sfp.rl.networks import HALF_LOG_TWO_PI, ActorCritic, squashed_action_log_prob
from sfp.rl.params import RLParams, target_entropy_value
from sfp.rl.replay import ReplayBatch


class SACAgent:
    """params: the run's RLParams (the agent reads its network, optimiser, entropy and prior-mixture settings);
    obs_dim: D, or None for (3,64,64) image observations (CNN encoder); prior: a MixturePrior, required when
    params.use_prior or params.kl_reg (kl_reg needs a gaussian prior model)."""

    def __init__(
        self,
        params: RLParams,
        obs_dim: int | None,
        act_dim: int,
        prior: MixturePrior | None = None,
        device: str | torch.device = "cpu",
    ):
        if (params.use_prior or params.kl_reg) and prior is None:
            raise UserError(f"use_prior and kl_reg need a prior; train one with {command('sfp-train-prior')}")
        if params.kl_reg and prior is not None and prior.prior.model != "gaussian":
            raise UserError(f"--kl_reg True needs --prior_model gaussian (got {prior.prior.model!r})")
        self.params = params
        self.obs_dim = obs_dim
        self.act_dim = act_dim
        self.prior = prior
        self.device = torch.device(device)
        self.mixing = params.use_prior
        self.ac = ActorCritic(
            obs_dim, act_dim, params.hidden_units, params.hidden_layers, params.lambda_init, params.lambda_param
        ).to(self.device)
        self.target = copy.deepcopy(torch.nn.ModuleDict({"encoder": self.ac.encoder, "critics": self.ac.critics}))
        self.target.requires_grad_(False)
        self._critic_params = self.ac.critic_parameters()
        self._actor_params = list(self.ac.actor.parameters())
        self._lambda_params = list(self.ac.lam.parameters())
        # typed as tensors for torch._foreach_lerp_
        self._online_for_target: list[torch.Tensor] = [*self.ac.encoder.parameters(), *self.ac.critics.parameters()]
        self._target_params: list[torch.Tensor] = [
            *self.target["encoder"].parameters(),
            *self.target["critics"].parameters(),
        ]
        # fused Adam: the same algorithm in one kernel per step (2.6x faster than the per-parameter loop on CPU)
        self.pi_optimizer = torch.optim.Adam(self._actor_params, lr=params.lr, fused=True)
        self.q_optimizer = torch.optim.Adam(self._critic_params, lr=params.lr, fused=True)
        self.lambda_optimizer = torch.optim.Adam(self._lambda_params, lr=params.lr, fused=True)
        self.log_alpha: torch.nn.Parameter | None = None
        self.alpha_optimizer: torch.optim.Adam | None = None
        if params.autotune_alpha:
            if params.alpha <= 0:
                raise UserError("--autotune_alpha True starts from --alpha, which must be positive (e.g. 0.2)")
            self.target_entropy = target_entropy_value(params.target_entropy, act_dim)
            self.log_alpha = torch.nn.Parameter(torch.tensor(math.log(params.alpha), device=self.device))
            self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=params.lr)

    @property
    def alpha(self) -> float | torch.Tensor:
        """The entropy weight: the fixed float, or exp(log α) detached (a scalar tensor) when tuned."""
        return self.params.alpha if self.log_alpha is None else self.log_alpha.detach().exp()

    # ----------------------------------------------------------------------------------------------- acting
    def _as_batch(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=torch.float32, device=self.device).unsqueeze(0)

    def act(
        self,
        obs: np.ndarray,
        window: np.ndarray,
        deterministic: bool = False,
        schedule: float = 1.0,
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, dict]:
        """One action for obs (D,) or (3,64,64) and window (n*A,): -> (action (A,), {prior_used, mixing_weight}).

        deterministic: tanh(mu), never the prior. Otherwise, with use_prior, the prior's sample with probability
        λ(s)·schedule, else the policy's sample tanh(mu + std * noise), noise (A,) given (colored action noise) or
        i.i.d. standard normal.
        """
        with torch.inference_mode():
            obs_t = self._as_batch(obs)
            features = self.ac.encoder(obs_t)
            if deterministic:
                action = torch.tanh(self.ac.actor(features)[0])
                return action[0].cpu().numpy(), {"prior_used": 0.0, "mixing_weight": 0.0}
            weight = 0.0
            if self.mixing:
                weight = self.ac.lam(features).item() * schedule
                if torch.rand(()).item() < weight:
                    assert self.prior is not None  # __init__ refuses use_prior without a prior
                    action = self.prior.sample(obs_t, self._as_batch(window))
                    return action[0].cpu().numpy(), {"prior_used": 1.0, "mixing_weight": weight}
            noise_t = None if noise is None else self._as_batch(noise)
            action = self.ac.actor.sample(features, noise_t)[0]
            return action[0].cpu().numpy(), {"prior_used": 0.0, "mixing_weight": weight}

    def explore(self, obs: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, dict]:
        """Initial exploration (t <= start_steps): the prior's sample if use_prior and prior_initial, else uniform
        in [-1,1]^A. -> (action (A,), {prior_used, mixing_weight})."""
        if self.mixing and self.params.prior_initial:
            assert self.prior is not None  # __init__ refuses use_prior without a prior
            with torch.inference_mode():
                action = self.prior.sample(self._as_batch(obs), self._as_batch(window))
            return action[0].cpu().numpy(), {"prior_used": 1.0, "mixing_weight": 1.0}
        action = torch.rand(self.act_dim) * 2.0 - 1.0
        return action.numpy(), {"prior_used": 0.0, "mixing_weight": 0.0}

    # ----------------------------------------------------------------------------------------------- losses
    def _regulariser(self, logp, mu, log_std, obs, window) -> torch.Tensor:
        """alpha * logp, or alpha * KL(pi || prior) at the same state with kl_reg: -> (B,)."""
        if self.params.kl_reg:
            assert self.prior is not None  # __init__ refuses kl_reg without a prior
            return self.alpha * losses.gaussian_kl(mu, log_std, *self.prior.gaussian(obs, window))
        return self.alpha * logp

    def _min_q(self, features: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return torch.min(*self.ac.critics(features, action))

    def _lambda_at(self, features: torch.Tensor) -> torch.Tensor | None:
        """λ at the given features (B,), with its graph when λ learns; None without the mixture."""
        if not self.mixing:
            return None
        with torch.set_grad_enabled(self.params.learn_lambda):
            return self.ac.lam(features)

    @torch.no_grad()
    def critic_target(
        self, batch: ReplayBatch, features2: torch.Tensor | None = None, lam2: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """y (B,), the one prior sample at obs2 (B,A) (None without the mixture) and the policy's sample at obs2
        before mixing (B,A); the λ step reuses both. features2 (B,F) and lam2 (B,): the encoder's features and λ
        at obs2 when the caller has them."""
        obs2, window2 = batch.obs2, batch.window2
        features2 = self.ac.encoder(obs2) if features2 is None else features2
        policy_action, logp, mu, log_std = self.ac.actor.sample(features2)
        next_action, prior_action = policy_action, None
        if self.mixing:
            assert self.prior is not None  # __init__ refuses use_prior without a prior
            prior_action = self.prior.sample(obs2, window2)
            lam2 = self.ac.lam(features2) if lam2 is None else lam2
            next_action = mix_actions(choose_prior_rows(lam2), prior_action, policy_action)
        q_next = torch.min(*self.target["critics"](self.target["encoder"](obs2), next_action))
        regulariser = self._regulariser(logp, mu, log_std, obs2, window2)
        target = losses.critic_target(batch.rew, batch.discount, batch.done, q_next, regulariser)
        return target, prior_action, policy_action

    def _critic_step(self, batch: ReplayBatch, target: torch.Tensor):
        q1, q2 = self.ac.critics(self.ac.encoder(batch.obs), batch.act)
        loss = losses.critic_loss(q1, q2, target, batch.weights)
        self._step(self.q_optimizer, loss, self._critic_params, clip=self.params.clip_gradients)
        return loss.detach(), q1.detach(), q2.detach()

    def _actor_step(self, features: torch.Tensor, obs: torch.Tensor, window: torch.Tensor, weights: torch.Tensor):
        action, logp, mu, log_std = self.ac.actor.sample(features)
        q = self._min_q(features, action)
        if self.mixing and self.params.prior_objective:
            with torch.no_grad():
                q_scale = 1.0 - self.ac.lam(features)
        else:
            q_scale = torch.ones_like(q)
        regulariser = self._regulariser(logp, mu, log_std, obs, window)
        loss = losses.actor_loss(regulariser, q, q_scale, weights, self.params.lambda_batch_mean)
        self._step(self.pi_optimizer, loss, self._actor_params)
        return loss.detach(), logp.detach(), log_std.detach()

    def _lambda_step(
        self,
        features2: torch.Tensor,
        prior_action: torch.Tensor,
        policy_action: torch.Tensor | None = None,
        lam2: torch.Tensor | None = None,
    ):
        """λ step at s'; policy_action: a policy sample at s' (the critic target's, reused), else a fresh one;
        lam2: λ(s') with its graph (the critic target's, reused), else computed here."""
        with torch.no_grad():
            if policy_action is None:
                policy_action = self.ac.actor.sample(features2)[0]
            q = self._min_q(torch.cat([features2, features2]), torch.cat([prior_action, policy_action]))
            q_prior, q_policy = q.chunk(2)
        lam = torch.nan_to_num(self.ac.lam(features2) if lam2 is None else lam2)
        loss = losses.lambda_loss(
            lam,
            q_prior,
            q_policy,
            self.params.lambda_bonus,
            self.params.lambda_loss_scale,
            self.params.lambda_batch_mean,
        )
        self._step(self.lambda_optimizer, loss, self._lambda_params)
        return loss.detach(), lam.detach()

    def _alpha_step(self, logp: torch.Tensor) -> torch.Tensor:
        """One Adam step on log α from the actor step's log π at s (B,). -> the loss, detached."""
        assert self.log_alpha is not None and self.alpha_optimizer is not None  # called with autotune_alpha only
        loss = losses.alpha_loss(self.log_alpha, logp, self.target_entropy)
        self._step(self.alpha_optimizer, loss, [self.log_alpha])
        return loss.detach()

    def _step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, params: list, clip: bool = False):
        optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=params)
        if clip:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    @torch.no_grad()
    def polyak_update(self) -> None:
        """target <- polyak * target + (1 - polyak) * online, for the critics (and the visual encoder)."""
        torch._foreach_lerp_(self._target_params, self._online_for_target, 1.0 - self.params.polyak)

    # ----------------------------------------------------------------------------------------------- updates
    def update(self, batch: ReplayBatch) -> tuple[dict, np.ndarray]:
        """One SAC(+prior) update on a replay batch: critic step, actor step (critics untouched), λ step
        (use_prior and learn_lambda), Polyak. -> (info of float scalars, PER priorities (B,)).
        λ(s') is evaluated once: it picks the target's rows and, with its graph, is λ's loss input."""
        with torch.no_grad():
            features2 = self.ac.encoder(batch.obs2)
        lam2 = self._lambda_at(features2)
        target, prior_action, policy_action2 = self.critic_target(batch, features2, lam2)
        loss_q, q1, q2 = self._critic_step(batch, target)
        with torch.no_grad():
            features = self.ac.encoder(batch.obs)
        loss_pi, logp, log_std = self._actor_step(features, batch.obs, batch.window, batch.weights)
        values = {
            "LossQ": loss_q,
            "Q1Vals": q1.mean(),
            "Q2Vals": q2.mean(),
            "LossPi": loss_pi,
            "LogPi": logp.mean(),
            "LogStd": log_std.mean(),
            "H": (log_std.sum(-1) + (0.5 + HALF_LOG_TWO_PI) * self.act_dim).mean(),
        }
        if self.mixing and self.params.learn_lambda:
            assert prior_action is not None  # critic_target draws it whenever the mixture is on
            values["LossLambda"], lam = self._lambda_step(features2, prior_action, policy_action2, lam2)
            values["Lambda"] = lam.mean()
        values["Alpha"] = torch.as_tensor(self.alpha, dtype=torch.float32, device=self.device)
        if self.log_alpha is not None:  # after the critic and actor steps, which used the same α
            values["LossAlpha"] = self._alpha_step(logp)
        self.polyak_update()
        priorities = losses.td_priorities(q1, q2, target)
        return _floats(values), priorities.cpu().numpy()

    def imitate(self, batch: ReplayBatch) -> tuple[dict, np.ndarray]:
        """One self-imitation update (SIL) from batch ret (Monte-Carlo return) and weights: value step, policy step,
        Polyak. -> (info, priorities = the clipped advantages (B,))."""
        obs, act, ret, weights = batch.obs, batch.act, batch.ret, batch.weights
        assert ret is not None  # the replay buffer always returns the return-to-go
        q1, q2 = self.ac.critics(self.ac.encoder(obs), act)
        scale = self.params.sil_weight * self.params.sil_value_weight
        loss_value = losses.sil_value_loss(q1, q2, ret, weights) * scale
        self._step(self.q_optimizer, loss_value, self._critic_params)
        with torch.no_grad():
            features = self.ac.encoder(obs)
            q1_after, q2_after = self.ac.critics(features, act)  # after the value step
            advantage = losses.sil_advantage(q1_after, q2_after, ret)
        log_prob = squashed_action_log_prob(act, *self.ac.actor(features))
        loss_policy = losses.sil_policy_loss(log_prob, advantage, weights) * self.params.sil_weight
        self._step(self.pi_optimizer, loss_policy, self._actor_params)
        self.polyak_update()
        return _floats({"LossQSIL": loss_value.detach(), "LossPiSIL": loss_policy.detach()}), advantage.cpu().numpy()

    def behaviour_clone(self, batches, epochs: int) -> dict:
        """Fit the actor by maximum likelihood of expert actions. batches: an iterable re-iterated once per epoch,
        yielding (inputs (B,D) on the agent's device, actions (B,A) clipped to ±0.995). -> {"LossBC": last epoch's
        mean loss}."""
        if self.ac.visual:
            raise UserError("behaviour cloning works on vector observations only; drop --bc_epochs with --visual")
        mean_loss = float("nan")
        for _ in tqdm(range(epochs), desc="behaviour cloning", unit="epoch"):
            total, count = torch.zeros((), device=self.device), 0
            for inputs, actions in batches:
                if inputs.shape[-1] != self.obs_dim:
                    raise UserError(
                        f"behaviour cloning needs {self.obs_dim}-dim inputs but the dataset gives "
                        f"{inputs.shape[-1]}; use the goal conditioning the dataset was collected for"
                    )
                log_prob = squashed_action_log_prob(actions, *self.ac.actor(inputs))
                loss = losses.behaviour_cloning_loss(log_prob)
                self._step(self.pi_optimizer, loss, self._actor_params)
                total, count = total + loss.detach(), count + 1
            mean_loss = (total / max(count, 1)).item()
        return {"LossBC": mean_loss}

    # ----------------------------------------------------------------------------------------------- saving
    def state_dict(self) -> dict:
        """Networks, target networks, the optimisers and, when tuned, log α (for an exact resume)."""
        state: dict[str, Any] = {
            "ac": self.ac.state_dict(),
            "target": self.target.state_dict(),
            "pi_optimizer": self.pi_optimizer.state_dict(),
            "q_optimizer": self.q_optimizer.state_dict(),
            "lambda_optimizer": self.lambda_optimizer.state_dict(),
        }
        if self.log_alpha is not None:
            assert self.alpha_optimizer is not None  # created together with log_alpha
            state["log_alpha"] = self.log_alpha.detach().clone()
            state["alpha_optimizer"] = self.alpha_optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.ac.load_state_dict(state["ac"])
        self.target.load_state_dict(state["target"])
        self.pi_optimizer.load_state_dict(state["pi_optimizer"])
        self.q_optimizer.load_state_dict(state["q_optimizer"])
        self.lambda_optimizer.load_state_dict(state["lambda_optimizer"])
        if self.log_alpha is not None:
            assert self.alpha_optimizer is not None  # created together with log_alpha
            with torch.no_grad():
                self.log_alpha.copy_(state["log_alpha"])
            self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])


def _floats(values: dict[str, torch.Tensor]) -> dict[str, float]:
    """Tensor scalars -> Python floats with one device transfer."""
    return dict(zip(values, torch.stack(list(values.values())).tolist()))
