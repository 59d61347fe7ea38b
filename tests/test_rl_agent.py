"""SACAgent: mixture target, λ learning, acting, SIL, BC, saving, visual mode; MixturePrior conditions."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from sfp.data.dataset import ExpertData
from sfp.errors import UserError
from sfp.rl.agent import SACAgent
from sfp.rl.bc_data import expert_batches
from sfp.rl.mixture import MixturePrior, mixture_prior_from_params
from sfp.rl.params import RLParams, load_rl_params
from sfp.rl.replay import ReplayBatch

torch.set_num_threads(1)
S, G, A = 3, 2, 2
D = S + G


class FakePrior(nn.Module):
    """Same interface as sfp.priors.loading.Prior: a linear map of the condition (or a constant), counting its calls."""

    def __init__(self, cond_dim: int, action_dim: int = A, model: str = "flow", offset: float = 0.0):
        super().__init__()
        self.cond_dim, self.action_dim, self.model = cond_dim, action_dim, model
        self.one_step = cond_dim == 0
        self.map = nn.Linear(max(cond_dim, 1), action_dim)
        self.offset = offset
        self.sample_calls = 0
        self.gaussian_calls = 0

    def _mean(self, cond, num):
        cond = torch.ones(num, 1) if cond is None else cond
        return self.map(cond) + self.offset

    def sample(self, cond, num=None):
        self.sample_calls += 1
        with torch.no_grad():
            return self._mean(cond, num)

    def gaussian(self, cond):
        self.gaussian_calls += 1
        with torch.no_grad():
            mu = self._mean(cond, cond.shape[0])
            return mu, torch.full_like(mu, -0.5)


def make_agent(prior_offset=0.0, prior=None, cond="action", **overrides):
    settings = dict(hidden_units=32, hidden_layers=2, use_prior=True)
    settings.update(overrides)
    params = RLParams(**settings)
    if prior is None and (params.use_prior or params.kl_reg):
        prior = FakePrior(A, model="gaussian" if params.kl_reg else "flow", offset=prior_offset)
    mixture = MixturePrior(prior, cond, S, G, A, A) if prior is not None else None
    return SACAgent(params, D, A, mixture)


def make_batch(batch_size=16, seed=0, obs_shape=(D,)):
    gen = torch.Generator().manual_seed(seed)
    return ReplayBatch(
        **{
            "obs": torch.rand(batch_size, *obs_shape, generator=gen),
            "obs2": torch.rand(batch_size, *obs_shape, generator=gen),
            "act": torch.rand(batch_size, A, generator=gen) * 2 - 1,
            "rew": torch.rand(batch_size, generator=gen),
            "done": (torch.rand(batch_size, generator=gen) < 0.3).float(),
            "discount": torch.full((batch_size,), 0.99**3),
            "window": torch.rand(batch_size, A, generator=gen) * 2 - 1,
            "window2": torch.rand(batch_size, A, generator=gen) * 2 - 1,
            "weights": torch.rand(batch_size, generator=gen) + 0.5,
            "ret": torch.rand(batch_size, generator=gen) * 5,
        }
    )


def force_lambda(agent, value: float):
    """λ(s) = sigmoid(±50) for every state: exactly 1.0, or ~2e-22."""
    with torch.no_grad():
        last = agent.ac.lam.net[-1]
        last.weight.zero_()
        last.bias.fill_(50.0 if value == 1 else -50.0)


# ------------------------------------------------------------------------------------------------ critic target
@pytest.mark.parametrize("lam", [1, 0])
def test_critic_target_uses_prior_action_when_lambda_is_one_and_policy_when_zero(lam):
    agent = make_agent(prior_offset=0.4)
    force_lambda(agent, lam)
    batch = make_batch()
    torch.manual_seed(7)
    target, prior_action, _ = agent.critic_target(batch)

    torch.manual_seed(7)  # replay the same random draws: the policy sample at obs2 comes first
    with torch.no_grad():
        policy_action, logp, _, _ = agent.ac.actor.sample(batch.obs2)
        expected_prior = (agent.prior.prior.map(batch.window2) + 0.4).clamp(-0.99, 0.99)
        next_action = expected_prior if lam == 1 else policy_action
        q_next = torch.min(*agent.target["critics"](batch.obs2, next_action))
        expected = batch.rew + batch.discount * (1 - batch.done) * (q_next - agent.params.alpha * logp)
    assert torch.allclose(prior_action, expected_prior)
    assert torch.allclose(target, expected, atol=1e-6)


def test_one_prior_sample_per_update_serves_target_and_lambda_loss():
    agent = make_agent()
    info, priorities = agent.update(make_batch())
    assert agent.prior.prior.sample_calls == 1
    assert "LossLambda" in info and priorities.shape == (16,) and np.all(priorities >= 0)


def test_kl_regularised_target_uses_the_standard_gaussian_kl():
    agent = make_agent(use_prior=False, kl_reg=True, alpha=0.5)
    batch = make_batch()
    torch.manual_seed(3)
    target, prior_action, _ = agent.critic_target(batch)
    torch.manual_seed(3)
    with torch.no_grad():
        action, _, mu, log_std = agent.ac.actor.sample(batch.obs2)
        mu_p = agent.prior.prior.map(batch.window2)
        kl = torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, log_std.exp()),
            torch.distributions.Normal(mu_p, torch.full_like(mu_p, -0.5).exp()),
        )
        q_next = torch.min(*agent.target["critics"](batch.obs2, action))
        expected = batch.rew + batch.discount * (1 - batch.done) * (q_next - 0.5 * kl.sum(-1))
    assert prior_action is None
    assert torch.allclose(target, expected, atol=1e-5)
    agent.update(batch)
    assert agent.prior.prior.gaussian_calls == 1 + 2  # above, then at s' (target) and s (actor) in the update


def test_kl_reg_requires_a_gaussian_prior():
    with pytest.raises(UserError, match="gaussian"):
        make_agent(use_prior=False, kl_reg=True, prior=FakePrior(A, model="flow"))


# ------------------------------------------------------------------------------------------------ actor and λ
def test_prior_objective_scales_q_by_one_minus_lambda():
    """With λ = 1 and alpha = 0 the prior objective leaves the actor nothing to maximise; plain SAC still moves it."""
    moved = {}
    for prior_objective in (True, False):
        torch.manual_seed(0)
        agent = make_agent(alpha=0.0, prior_objective=prior_objective)
        force_lambda(agent, 1)
        before = copy.deepcopy(agent.ac.actor.state_dict())
        agent.update(make_batch())
        moved[prior_objective] = any(not torch.equal(before[k], v) for k, v in agent.ac.actor.state_dict().items())
    assert moved == {True: False, False: True}


class SignCritics(nn.Module):
    """Q(s, a) = s_0 * a_0: the prior's positive action is better where s_0 > 0, worse where s_0 < 0."""

    def forward(self, features, action):
        q = features[:, 0] * action[:, 0]
        return q, q


def test_lambda_rises_where_prior_is_better_and_falls_where_worse():
    torch.manual_seed(0)
    agent = make_agent(lambda_init=0.5, lambda_loss_scale=1.0, lr=1e-2)
    agent.ac.critics = SignCritics()
    states = torch.zeros(64, D)
    states[:32, 0], states[32:, 0] = 1.0, -1.0
    prior_action = torch.full((64, A), 0.9)
    for _ in range(30):
        agent._lambda_step(states, prior_action)
    with torch.no_grad():
        lam = agent.ac.lam(states)
    assert lam[:32].min() > 0.6 and lam[32:].max() < 0.4


def test_learn_lambda_false_never_changes_lambda():
    agent = make_agent(learn_lambda=False, lambda_loss_scale=1.0)
    before = copy.deepcopy(agent.ac.lam.state_dict())
    info, _ = agent.update(make_batch())
    assert "LossLambda" not in info
    assert all(torch.equal(before[k], v) for k, v in agent.ac.lam.state_dict().items())


def test_lambda_param_is_a_saved_scalar_and_learns():
    agent = make_agent(lambda_param=True, lambda_init=0.95, lambda_loss_scale=1.0)
    assert "lam.logit" in agent.ac.state_dict()
    assert agent.ac.lam(torch.zeros(4, D)).tolist() == pytest.approx([0.95] * 4)
    before = agent.ac.lam.logit.item()
    agent.update(make_batch())
    assert agent.ac.lam.logit.item() != before


# ------------------------------------------------------------------------------------------------ learning
def test_bandit_critic_and_actor_find_the_rewarding_action():
    """One-step bandit with reward 1 - (a - 0.5)^2 per dimension mean: Q learns it and tanh(mu) moves to 0.5."""
    torch.manual_seed(0)
    agent = make_agent(use_prior=False, alpha=0.01, lr=3e-3)
    obs = torch.zeros(64, D)
    for _ in range(400):
        act = torch.rand(64, A) * 2 - 1
        batch = ReplayBatch(
            **{
                "obs": obs,
                "obs2": obs,
                "act": act,
                "rew": 1 - (act - 0.5).pow(2).mean(-1),
                "done": torch.ones(64),
                "discount": torch.ones(64),
                "window": act,
                "window2": act,
                "weights": torch.ones(64),
            }
        )
        agent.update(batch)
    action, _ = agent.act(np.zeros(D, np.float32), np.zeros(A, np.float32), deterministic=True)
    assert np.allclose(action, 0.5, atol=0.15)
    with torch.no_grad():
        q = torch.min(*agent.ac.critics(obs[:1], torch.full((1, A), 0.5)))
    assert q.item() == pytest.approx(1.0, abs=0.1)


def test_sil_raises_q_towards_higher_returns_and_returns_advantages():
    torch.manual_seed(0)
    agent = make_agent(use_prior=False, sil_value_weight=1.0, lr=1e-2)
    batch = make_batch()
    batch = batch._replace(ret=torch.full((16,), 5.0))
    with torch.no_grad():
        q_before = torch.min(*agent.ac.critics(batch.obs, batch.act)).mean()
    for _ in range(20):
        info, priorities = agent.imitate(batch)
    with torch.no_grad():
        q_after = torch.min(*agent.ac.critics(batch.obs, batch.act)).mean()
    assert q_after > q_before + 1.0
    assert priorities.shape == (16,) and np.all(priorities >= 0) and set(info) == {"LossQSIL", "LossPiSIL"}


@pytest.mark.parametrize("goal_cond", [True, False])
def test_behaviour_cloning_fits_expert_actions(goal_cond):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n = 512
    observations = rng.uniform(-1, 1, (n, S)).astype(np.float32)
    actions = np.stack([0.8 * observations[:, 0], np.full(n, -0.3)], axis=1).astype(np.float32)
    data = ExpertData(
        observations=observations,
        actions=actions,
        goals=rng.uniform(0, 1, (n, G)).astype(np.float32),
        rewards=np.zeros(n, np.float32),
        terminals=np.zeros(n, bool),
        timeouts=np.zeros(n, bool),
        path=Path("synthetic.hdf5"),
    )
    agent = SACAgent(RLParams(hidden_units=32, hidden_layers=2, lr=3e-3), D if goal_cond else S, A)
    info = agent.behaviour_clone(expert_batches(data, goal_cond, batch_size=64), epochs=20)
    assert np.isfinite(info["LossBC"])
    obs = np.concatenate([observations, data.goals], 1) if goal_cond else observations
    predicted = np.stack([agent.act(o, np.zeros(A), deterministic=True)[0] for o in obs[:50]])
    assert np.abs(predicted - actions[:50]).mean() < 0.1
    with pytest.raises(UserError, match="goal conditioning"):
        agent.behaviour_clone(expert_batches(data, not goal_cond, batch_size=64), epochs=1)


# ------------------------------------------------------------------------------------------------ acting
def test_act_shapes_determinism_and_mixture():
    agent = make_agent(prior_offset=5.0)  # prior actions saturate at the clamp: 0.99
    obs, window = np.random.rand(D).astype(np.float32), np.zeros(A, np.float32)
    first, info = agent.act(obs, window, deterministic=True)
    second, _ = agent.act(obs, window, deterministic=True)
    assert first.shape == (A,) and np.array_equal(first, second) and info["prior_used"] == 0
    force_lambda(agent, 1)
    action, info = agent.act(obs, window)
    assert info == {"prior_used": 1.0, "mixing_weight": 1.0} and np.allclose(action, 0.99)
    action, info = agent.act(obs, window, schedule=0.0)
    assert info["prior_used"] == 0.0 and info["mixing_weight"] == 0.0 and np.all(np.abs(action) < 1)
    samples = {tuple(agent.act(obs, window, schedule=0.0)[0]) for _ in range(3)}
    assert len(samples) == 3  # stochastic policy samples


def test_explore_uses_prior_or_uniform():
    agent = make_agent(prior_offset=5.0)
    action, info = agent.explore(np.zeros(D, np.float32), np.zeros(A, np.float32))
    assert np.allclose(action, 0.99) and info["prior_used"] == 1.0
    for overrides in ({"prior_initial": False}, {"use_prior": False}):
        agent = make_agent(**overrides)
        action, info = agent.explore(np.zeros(D, np.float32), np.zeros(A, np.float32))
        assert action.shape == (A,) and np.all(np.abs(action) <= 1) and info["prior_used"] == 0.0


# ------------------------------------------------------------------------------------------------ saving
def test_state_dict_round_trip_reproduces_the_next_update():
    torch.manual_seed(0)
    agent = make_agent()
    for seed in range(3):
        agent.update(make_batch(seed=seed))
    state = copy.deepcopy(agent.state_dict())
    torch.manual_seed(1)
    restored = make_agent()
    restored.prior = agent.prior
    restored.load_state_dict(state)
    batch = make_batch(seed=9)
    torch.manual_seed(5)
    info, priorities = agent.update(batch)
    torch.manual_seed(5)
    info_restored, priorities_restored = restored.update(batch)
    assert info == info_restored and np.array_equal(priorities, priorities_restored)
    for key, value in agent.state_dict()["ac"].items():
        assert torch.equal(value, restored.state_dict()["ac"][key])


# ------------------------------------------------------------------------------------------------ visual
def test_visual_agent_updates_and_acts_with_the_encoder_trained_by_the_critic_only():
    torch.manual_seed(0)
    mixture = MixturePrior(FakePrior(A), "action", None, 0, A, A)
    agent = SACAgent(
        RLParams(hidden_units=16, hidden_layers=1, use_prior=True, lambda_loss_scale=1.0), None, A, mixture
    )
    batch = make_batch(batch_size=4, obs_shape=(3, 64, 64))
    encoder_before = copy.deepcopy(agent.ac.encoder.state_dict())
    info, priorities = agent.update(batch)
    assert np.isfinite(list(info.values())).all() and priorities.shape == (4,)
    assert any(not torch.equal(encoder_before[k], v) for k, v in agent.ac.encoder.state_dict().items())
    # the actor and λ steps alone leave the encoder untouched
    encoder_after_update = copy.deepcopy(agent.ac.encoder.state_dict())
    features = agent.ac.encoder(batch.obs).detach()
    agent._actor_step(features, batch.obs, batch.window, batch.weights)
    agent._lambda_step(features, torch.zeros(4, A))
    assert all(torch.equal(encoder_after_update[k], v) for k, v in agent.ac.encoder.state_dict().items())
    action, _ = agent.act(np.random.rand(3, 64, 64).astype(np.float32), np.zeros(A, np.float32))
    assert action.shape == (A,)
    agent.imitate(batch)


# ------------------------------------------------------------------------------------------------ prior condition
def test_prior_conditions_and_postprocessing():
    obs, window = torch.arange(2 * D, dtype=torch.float32).reshape(2, D), -torch.ones(2, A)
    assert torch.equal(MixturePrior(FakePrior(A), "action", S, G, A, A).condition(obs, window), window)
    assert torch.equal(MixturePrior(FakePrior(S), "state", S, G, A, A).condition(obs, window), obs[:, :S])
    assert torch.equal(MixturePrior(FakePrior(D), "state+goal", S, G, A, A).condition(obs, window), obs)
    assert torch.equal(
        MixturePrior(FakePrior(A + D), "action+state", S, G, A, A).condition(obs, window), torch.cat([window, obs], 1)
    )
    window2 = torch.arange(4.0).repeat(2, 1)  # n = 2: [a_{t-2}, a_{t-1}, s_t, g_t] as sfp/priors/windows.py trains
    assert torch.equal(
        MixturePrior(FakePrior(2 * A + D), "action+state", S, G, A, 2 * A).condition(obs, window2),
        torch.cat([window2, obs], 1),
    )
    assert MixturePrior(FakePrior(0), "action", S, G, A, A).condition(obs, window) is None

    raw = torch.tensor([[5.0, -5.0], [float("nan"), 0.3]])
    assert torch.equal(
        MixturePrior(FakePrior(A), "action", S, G, A, A).postprocess(raw), torch.tensor([[0.99, -0.99], [0.0, 0.3]])
    )
    clamped = MixturePrior(FakePrior(A), "action", S, G, A, A, clamp=0.2).postprocess(raw.repeat(100, 1))
    assert clamped.abs().max() <= 0.99 and (clamped[0::2].abs() - 0.79).abs().max() <= 0.2
    smoothed = MixturePrior(FakePrior(A), "action", S, G, A, A, smoothing=1.0).postprocess(torch.zeros(200, A))
    assert smoothed.abs().max() <= 1 and smoothed.std() > 0.4  # every row replaced by U(-1,1)^A


@pytest.mark.parametrize(
    "cond, cond_dim, window_dim, message",
    [
        ("state", D, A, "expects a 5-dim"),  # a state+goal prior used as a state prior
        ("action", A, 2 * A, "prior_n_step"),  # window of two actions, prior trained on one
        ("state", 2 * S, A, "expects a 6-dim"),  # flows' state prior with n = 2 stacks past states
        ("vision", A, A, "prior_cond"),
    ],
)
def test_prior_condition_mismatches_are_user_errors(cond, cond_dim, window_dim, message):
    with pytest.raises(UserError, match=message):
        MixturePrior(FakePrior(cond_dim), cond, S, G, A, window_dim)


def test_agent_and_prior_are_configured_from_the_rl_parameters():
    params, _ = load_rl_params(
        ["--env", "room-v1", "--use_prior", "True", "--hid", "16", "--prior_n_step", "2", "--prior_smoothing", "0.1"]
    )
    agent = SACAgent(params, D, A, MixturePrior(FakePrior(A), "action", S, G, A, A))
    assert (agent.alpha, agent.params.hidden_units, agent.mixing, params.lambda_batch_mean) == (0.2, 16, True, False)
    assert agent.ac.actor.trunk[0].out_features == 16
    mixture = mixture_prior_from_params(FakePrior(2 * A), params, S, G, A)
    assert mixture.smoothing == 0.1 and mixture.condition(torch.zeros(1, D), torch.ones(1, 2 * A)).shape == (1, 4)
