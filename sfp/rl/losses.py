"""The agent's losses as small pure functions of tensors (B = batch, A = actions).

Every function takes already-computed network outputs, so each formula can be checked by hand.
`batch_mean=True` reproduces the original release's broadcast, where λ acted only through batch means.
"""

import torch


def critic_target(
    rew: torch.Tensor, discount: torch.Tensor, done: torch.Tensor, q_next: torch.Tensor, regulariser: torch.Tensor
) -> torch.Tensor:
    """y = rew + discount * (1 - done) * (q_next - regulariser); all (B,) -> (B,).

    q_next = min of the target critics at (s', a'); regulariser = alpha * logp' (SAC) or alpha * KL' (kl_reg).
    """
    return rew + discount * (1.0 - done) * (q_next - regulariser)


def critic_loss(q1: torch.Tensor, q2: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """mean(w (Q1 - y)^2) + mean(w (Q2 - y)^2); (B,) x4 -> scalar."""
    return (weights * (q1 - target).pow(2)).mean() + (weights * (q2 - target).pow(2)).mean()


def td_priorities(q1: torch.Tensor, q2: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PER priorities (|Q1 - y| + |Q2 - y|) / 2; (B,) x3 -> (B,)."""
    return 0.5 * ((q1 - target).abs() + (q2 - target).abs())


def actor_loss(
    regulariser: torch.Tensor, q: torch.Tensor, q_scale: torch.Tensor, weights: torch.Tensor, batch_mean: bool = False
) -> torch.Tensor:
    """mean(w * (regulariser - c * q)); (B,) x4 -> scalar.

    regulariser = alpha * logp (or alpha * KL), q = min(Q1, Q2) at the reparameterised action, c = q_scale = 1 - λ(s)
    (detached) with the prior objective, else ones. batch_mean: the original's broadcast,
    mean(w * regulariser) - mean(c) * mean(w * q).
    """
    if batch_mean:
        return (weights * regulariser).mean() - q_scale.mean() * (weights * q).mean()
    return (weights * (regulariser - q_scale * q)).mean()


def alpha_loss(log_alpha: torch.Tensor, logp: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """Automatic entropy tuning: -log_alpha * mean(logp + target_entropy), logp detached; scalar, (B,) -> scalar.

    Its gradient -mean(logp + target) is positive while the entropy -logp exceeds the target, so log_alpha falls;
    it rises while the entropy is below the target.
    """
    return -log_alpha * (logp.detach() + target_entropy).mean()


def lambda_loss(
    lam: torch.Tensor,
    q_prior: torch.Tensor,
    q_policy: torch.Tensor,
    bonus: float,
    scale: float,
    batch_mean: bool = False,
) -> torch.Tensor:
    """mean(-scale * λ(s') * (bonus + Q(s', a_prior) - Q(s', a_pi))); (B,) x3 -> scalar.

    Minimising it raises λ where the prior's action is rated higher than the policy's. The Q values must be
    detached. `bonus` (--beta) favours the prior, `scale` (--epsilon) damps λ's steps. batch_mean: the original's
    broadcast, -scale * mean(λ) * mean(bonus + q_prior - q_policy).
    """
    advantage = bonus + q_prior - q_policy
    if batch_mean:
        return -scale * lam.mean() * advantage.mean()
    return (-scale * lam * advantage).mean()


def gaussian_kl(
    mu: torch.Tensor, log_std: torch.Tensor, mu_prior: torch.Tensor, log_std_prior: torch.Tensor
) -> torch.Tensor:
    """KL(N(mu, std^2) || N(mu_prior, std_prior^2)) of diagonal Gaussians, summed over dims: (B,A) x4 -> (B,).

    Per dim: log(std_p / std) + (std^2 + (mu - mu_p)^2) / (2 std_p^2) - 1/2.
    """
    var_ratio = torch.exp(2.0 * (log_std - log_std_prior))
    mean_term = (mu - mu_prior).pow(2) * torch.exp(-2.0 * log_std_prior)
    return (log_std_prior - log_std + 0.5 * (var_ratio + mean_term) - 0.5).sum(-1)


def sil_value_loss(q1: torch.Tensor, q2: torch.Tensor, ret: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Self-imitation value loss mean(w/2 max(0, R - Q1)^2) + mean(w/2 max(0, R - Q2)^2); (B,) x4 -> scalar."""
    return (0.5 * weights * (ret - q1).clamp(min=0).pow(2)).mean() + (
        0.5 * weights * (ret - q2).clamp(min=0).pow(2)
    ).mean()


def sil_advantage(q1: torch.Tensor, q2: torch.Tensor, ret: torch.Tensor) -> torch.Tensor:
    """max(0, R - min(Q1, Q2)), detached; (B,) x3 -> (B,). Also the SIL priorities."""
    return (ret - torch.min(q1, q2)).clamp(min=0).detach()


def sil_policy_loss(
    action_log_prob: torch.Tensor, advantage: torch.Tensor, weights: torch.Tensor, log_prob_clip: float = 20.0
) -> torch.Tensor:
    """mean(-w * clip(log pi(a|s), ±20) * adv); (B,) x3 -> scalar."""
    return (-weights * action_log_prob.clamp(-log_prob_clip, log_prob_clip) * advantage).mean()


def behaviour_cloning_loss(action_log_prob: torch.Tensor) -> torch.Tensor:
    """Negative mean log-likelihood of the dataset actions; (B,) -> scalar."""
    return -action_log_prob.mean()
