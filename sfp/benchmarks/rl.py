"""RL speed measurements for scripts/bench_rl.py (run side by side, same process, same thread count).

- `update_times`: one SFP update vs one plain SAC update vs a bare reference update of the same networks (a
  minimal SAC step written out with no prior, logging or PER bookkeeping), on Meta-World-sized batches.
- `training_loop`: the real trainer on a Meta-World task with an (untrained, default-size) flow prior: environment
  steps/s and the loop's cost on top of the gradient updates themselves.
"""

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from sfp import paths
from sfp.benchmarks.prior import default_flow_config
from sfp.data.synthetic import write_persistent_dataset
from sfp.envs import make_env
from sfp.errors import UserError
from sfp.priors.checkpoint import save_checkpoint
from sfp.priors.factory import build_model
from sfp.priors.loading import load_prior
from sfp.rl.agent import SACAgent
from sfp.rl.mixture import MixturePrior
from sfp.rl.params import RLParams, load_rl_params
from sfp.rl.replay import ReplayBatch, ReplayBuffer, ReplayEpisode
from sfp.rl.run import run

TASK = "window-close-v2"


def _filled_buffer(env, episodes: int, n_step: int) -> ReplayBuffer:
    """A HER buffer with `episodes` random-action episodes of the real env (dict observations)."""
    obs_dim = env.observation_space["observation"].shape[0]
    goal_dim, act_dim = env.observation_space["desired_goal"].shape[0], env.action_space.shape[0]
    buffer = ReplayBuffer(
        (obs_dim,), goal_dim, act_dim, act_dim, 100_000, 0.99, n_step, True, 4, env.compute_reward, True
    )
    rng = np.random.default_rng(0)
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        observations, actions = [obs], rng.uniform(-1, 1, (env.max_steps, act_dim)).astype(np.float32)
        rewards = []
        for action in actions:
            obs, reward, *_ = env.step(action)
            observations.append(obs)
            rewards.append(reward)
        stacked = {key: np.stack([o[key] for o in observations]) for key in observations[0]}
        window = np.concatenate([np.zeros((1, act_dim), np.float32), actions])
        buffer.store_episode(
            ReplayEpisode(
                observation=stacked["observation"],
                act=actions,
                rew=np.asarray(rewards, np.float32),
                terminal=np.zeros(len(actions), bool),
                window=window,
                achieved_goal=stacked["achieved_goal"],
                desired_goal=stacked["desired_goal"],
            )
        )
    return buffer


def _flow_prior(act_dim: int, directory: Path):
    config = default_flow_config(act_dim, 1)
    return load_prior(save_checkpoint(directory / "bench_prior.pt", build_model(config), config))


def bare_update(agent: SACAgent, batch: ReplayBatch, alpha: float) -> None:
    """The minimal SAC step on the agent's own networks: critic, actor, Polyak. No prior, no extras."""
    ac, obs, obs2 = agent.ac, batch.obs, batch.obs2
    with torch.no_grad():
        action2, logp2, *_ = ac.actor.sample(obs2)
        q_next = torch.min(*agent.target["critics"](obs2, action2))
        target = batch.rew + batch.discount * (1 - batch.done) * (q_next - alpha * logp2)
    q1, q2 = ac.critics(obs, batch.act)
    loss_q = ((q1 - target) ** 2).mean() + ((q2 - target) ** 2).mean()
    agent.q_optimizer.zero_grad()
    loss_q.backward()
    agent.q_optimizer.step()
    action, logp, *_ = ac.actor.sample(obs)
    loss_pi = (alpha * logp - torch.min(*ac.critics(obs, action))).mean()
    agent.pi_optimizer.zero_grad()
    loss_pi.backward()
    agent.pi_optimizer.step()
    agent.polyak_update()


def _time_per_call(function, batches: list) -> float:
    for batch in batches[:10]:
        function(batch)
    start = time.perf_counter()
    for batch in batches:
        function(batch)
    return (time.perf_counter() - start) / len(batches)


def update_times(updates: int = 300, batch_size: int = 100, n_step: int = 10) -> dict:
    """Seconds per update: {'bare', 'sac', 'sfp', 'sample'}, all on the same batches."""
    env = make_env(TASK)
    buffer = _filled_buffer(env, 4, n_step)
    start = time.perf_counter()
    batches = [buffer.sample(batch_size, 0.5)[0] for _ in range(updates)]
    sample_time = (time.perf_counter() - start) / updates
    obs_dim, act_dim = batches[0].obs.shape[1], batches[0].act.shape[1]
    with tempfile.TemporaryDirectory() as tmp:
        prior = MixturePrior(_flow_prior(act_dim, Path(tmp)), "action", obs_dim, 0, act_dim, act_dim)
        sac = SACAgent(RLParams(), obs_dim, act_dim)
        sfp = SACAgent(RLParams(use_prior=True, alpha=0.01), obs_dim, act_dim, prior)
        reference = SACAgent(RLParams(), obs_dim, act_dim)
        times = {
            "bare": _time_per_call(lambda b: bare_update(reference, b, 0.2), batches),
            "sac": _time_per_call(sac.update, batches),
            "sfp": _time_per_call(sfp.update, batches),
        }
    env.close()
    return {**times, "sample": sample_time}


SFP_FLAGS = ("--use_prior", "True", "--alpha", "0.01")
SAC_HER_FLAGS = ("--n_step_rew", "1")  # one-step returns, as Stable-Baselines3's SAC
DIRECTORY_VARIABLES = {"D4RL_DATASET_DIR": "datasets", "SFP_FLOW_DIR": "flows", "SFP_LOG_DIR": "logs"}


@contextmanager
def sandbox():
    """Temporary dataset, prior and log directories holding a default-size sawyer action prior and a small synthetic
    sawyer dataset (speed does not depend on what they contain); the environment variables are restored after."""
    saved = {variable: os.environ.get(variable) for variable in DIRECTORY_VARIABLES}
    with tempfile.TemporaryDirectory() as tmp:
        for variable, name in DIRECTORY_VARIABLES.items():
            os.environ[variable] = str(Path(tmp) / name)
        try:
            config = {**default_flow_config(4, 1), "short": "sawyer"}
            save_checkpoint(paths.prior_checkpoint("sawyer", "flow", "action", 1), build_model(config), config)
            paths.dataset_dir(create=True)
            write_persistent_dataset(paths.dataset_file("sawyer"), 10, 500, action_dim=4)  # only actions are read
            yield
        finally:
            for variable, value in saved.items():
                os.environ.pop(variable, None) if value is None else os.environ.__setitem__(variable, value)


def training_loop(steps: int = 3000, start_steps: int = 1000, flags=SFP_FLAGS) -> dict:
    """Run the trainer (default sizes, `flags` choose the method) for `steps` env steps. Updates start once the
    first 500-step episode is stored; from then on (the steady state) measure env steps/s and the share of time
    inside updates."""
    inside = {"seconds": 0.0, "first": None}
    original = SACAgent.update

    def timed_update(self, batch):
        begin = time.perf_counter()
        inside["first"] = inside["first"] or begin
        result = original(self, batch)
        inside["seconds"] += time.perf_counter() - begin
        return result

    with sandbox():
        params, notes = load_rl_params(
            [
                "--env",
                TASK,
                *flags,
                "--epochs",
                "1",
                "--steps_per_epoch",
                str(steps),
                "--start_steps",
                str(start_steps),
                "--update_after",
                str(start_steps),
                "--num_test_episodes",
                "0",
                "--num_threads",
                "1",
                "--exp_name",
                "bench",
            ]
        )
        SACAgent.update = timed_update  # type: ignore[method-assign]  # timing the updates: a deliberate patch
        try:
            trainer = run(params, notes)
            steady = time.perf_counter()
            assert inside["first"] is not None  # set by the first update (updates start before the last step)
            steady -= inside["first"]
        finally:
            SACAgent.update = original  # type: ignore[method-assign]  # the patch undone
    return {
        "steps_per_second": (steps - start_steps) / steady,
        "steady_seconds": steady,
        "updates": trainer.updates,
        "update_seconds": inside["seconds"],
    }


def stable_baselines3_sac_her(steps: int = 3000, start_steps: int = 1000) -> dict:
    """Stable-Baselines3 SAC + HerReplayBuffer on the same task, network sizes (256x2), batch (100), fixed entropy
    weight (0.2), learning rate, HER strategy (future, k=4), one gradient step per environment step and one
    thread; steady-state env steps/s after `start_steps`."""
    try:
        from stable_baselines3 import SAC, HerReplayBuffer
        from stable_baselines3.common.callbacks import BaseCallback
    except ImportError:
        raise UserError(
            "the Stable-Baselines3 comparison needs the benchmark extra: pip install -r requirements-bench.txt"
        ) from None

    class SteadyClock(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps == start_steps + 1:
                self.started = time.perf_counter()
            return True

    env = make_env(TASK)
    model = SAC(
        "MultiInputPolicy",
        env,
        learning_rate=1e-3,
        buffer_size=1_000_000,
        learning_starts=start_steps,
        batch_size=100,
        tau=0.005,
        gamma=0.99,
        train_freq=1,
        gradient_steps=1,
        ent_coef=0.2,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs={"n_sampled_goal": 4, "goal_selection_strategy": "future"},
        policy_kwargs={"net_arch": [256, 256]},
        seed=0,
        device="cpu",
    )
    clock = SteadyClock()
    model.learn(total_timesteps=steps, callback=clock)
    steady = time.perf_counter() - clock.started
    env.close()
    return {"steps_per_second": (steps - start_steps - 1) / steady}
