"""The downstream-RL loop (docs/method.md §2, §6; truncation is never a terminal).

Per step: act (initial exploration for the first `start_steps` steps, then the agent's mixture policy), step the
env, extend the prior's action window, store the finished episode in the replay buffer, run `update_every` gradient
updates every `update_every` steps from `update_after` on, and at the end of each epoch run deterministic test
episodes, write one log row and, every `save_freq` epochs, a checkpoint. Update rounds that fall due before the
replay buffer holds a finished episode are owed and run as soon as it does, so the number of gradient updates
always follows the schedule. Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves a checkpoint and stops
(exit status 128 + signal: 130, 143); `--resume True` continues from it with the same results as an uninterrupted
run.
"""

import math
import random
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from sfp.errors import UserError
from sfp.rl.action_noise import episode_noise_from_params
from sfp.rl.action_priors import action_box
from sfp.rl.action_windows import InitialWindows, push
from sfp.rl.build import Experiment, flat_observation
from sfp.rl.checkpoint import load_checkpoint, save_checkpoint
from sfp.rl.env_snapshot import replay_episode, restore_rng, rng_snapshot
from sfp.rl.evaluation import record_test_video
from sfp.rl.replay import ReplayEpisode
from sfp.rl.rollout import run_episode, schedule_at
from sfp.rl.visitation import VISITATION_FILE, Visitation


class NonFiniteLoss(UserError):
    """A loss became NaN or infinite: training stops (sfp.rl.run says what the run directory keeps)."""


STOP_SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


@contextmanager
def deferred_interrupt():
    """The first SIGINT or SIGTERM sets state["signal"] (the trainer checks it between steps, saves and stops); a
    second one exits at once, without saving, with status 128 + signal."""
    state = {"signal": None}

    def handler(signum, frame):
        name = STOP_SIGNALS[signum]
        if state["signal"] is not None:
            tqdm.write(f"{name} again: stopping without saving; the last checkpoint is kept")
            raise SystemExit(128 + signum)
        state["signal"] = signum
        tqdm.write(f"{name}: finishing this step and saving a checkpoint (send it again to stop without saving)")

    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield state
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


class Episode:
    """The episode in progress: what the replay buffer stores, plus what is needed to replay it on resume."""

    def __init__(self, obs, window: np.ndarray, reset_seed: int | None, rng_state: dict):
        self.reset_seed, self.rng_state = reset_seed, rng_state
        self.observations, self.windows = [obs], [window.ravel().copy()]
        self.actions: list[np.ndarray] = []
        self.env_actions: list[np.ndarray] = []
        self.rewards: list[float] = []
        self.terminals: list[bool] = []
        self.ret, self.success = 0.0, False

    def add(
        self, env_action, stored_action, obs2, reward: float, terminated: bool, success: bool, window: np.ndarray
    ) -> None:
        self.env_actions.append(np.asarray(env_action))
        self.actions.append(np.asarray(stored_action, np.float32))
        self.observations.append(obs2)
        self.rewards.append(reward)
        self.terminals.append(terminated)
        self.windows.append(window.ravel().copy())
        self.ret += reward
        self.success = self.success or success

    def __len__(self) -> int:
        return len(self.actions)

    def as_replay_episode(self) -> ReplayEpisode:
        """The episode as the replay buffer stores it (dict observations give the goals too)."""
        if isinstance(self.observations[0], dict):
            observation, achieved_goal, desired_goal = (
                np.stack([obs[key] for obs in self.observations])
                for key in ("observation", "achieved_goal", "desired_goal")
            )
        else:
            observation, achieved_goal, desired_goal = np.stack(self.observations), None, None
        return ReplayEpisode(
            observation=observation,
            act=np.stack(self.actions),
            rew=np.asarray(self.rewards, np.float32),
            terminal=np.asarray(self.terminals, bool),
            window=np.stack(self.windows),
            achieved_goal=achieved_goal,
            desired_goal=desired_goal,
        )


class Trainer:
    def __init__(self, experiment: Experiment, logger, run_dir):
        self.experiment, self.logger, self.run_dir = experiment, logger, run_dir
        self.params = params = experiment.params
        self.total_steps = params.epochs * params.steps_per_epoch
        self.t, self.updates, self.last_update, self.episodes = 0, 0, 0, 0
        self.owed_rounds = 0  # update rounds due while the replay buffer was still empty
        self.stop_signal: int | None = None  # the signal that stopped train() early (after saving), if one did
        self.test_seeded = False
        # the episode in progress: None until start() or restore()
        self.window: np.ndarray | None = None
        self.episode: Episode | None = None
        self.obs: np.ndarray | dict[str, np.ndarray] | None = None
        self.finished = False
        episode_budget = min(experiment.env.get_wrapper_attr("max_steps"), params.max_ep_len)
        self.noise = episode_noise_from_params(params, action_box(experiment.env).shape[0], episode_budget)
        self.visits = Visitation.for_env(experiment.env, params.epochs, params.steps_per_epoch)  # point mazes only
        # test episodes start from an all-zero window, drawing nothing (a deterministic policy never reads it)
        self.test_windows = InitialWindows(
            None, params.prior_n_step, action_box(experiment.env).shape[0], False, params.seed
        )

    # ------------------------------------------------------------------------------------------------ set-up
    def start(self) -> None:
        """A fresh run (seeded by sfp.rl.run before anything was built): first reset, optional behaviour cloning."""
        params = self.params
        self._new_episode(reset_seed=params.seed)
        if params.bc_epochs > 0:
            from sfp.rl.bc_data import expert_batches

            assert self.experiment.dataset is not None  # build_experiment loads it when bc_epochs > 0
            batches = expert_batches(
                self.experiment.dataset, params.goal_cond, params.batch_size, self.experiment.device
            )
            tqdm.write(f"behaviour cloning: {self.experiment.agent.behaviour_clone(batches, params.bc_epochs)}")

    def _new_episode(self, reset_seed: int | None = None) -> None:
        rng_state = rng_snapshot(self.experiment.env)
        self.obs, _ = self.experiment.env.reset(seed=reset_seed)
        self.window = self.experiment.windows.sample()
        self.episode = Episode(self.obs, self.window, reset_seed, rng_state)
        if self.experiment.polyrl is not None:
            self.experiment.polyrl.pre_episode(self.episodes)
        if self.noise is not None:
            self.noise.reset()

    # ------------------------------------------------------------------------------------------------ the loop
    def train(self, interrupt: dict) -> None:
        """Run to the end, or until interrupt["signal"] is set (see deferred_interrupt): then save and stop."""
        params = self.params
        bar = tqdm(total=self.total_steps, initial=self.t, unit="step", desc=params.exp_name, dynamic_ncols=True)
        while interrupt["signal"] is None and self.t < self.total_steps:
            self._step()
            bar.update(1)
            if (self.t % params.steps_per_epoch) == 0:
                self._end_epoch(bar)
        bar.close()
        if self.t < self.total_steps:
            path = self.save()
            self.stop_signal = interrupt["signal"]
            tqdm.write(f"stopped at step {self.t}; checkpoint {path}; continue with --resume True")
        else:
            self.finished = True

    @property
    def exit_status(self) -> int:
        """0 after the last epoch, 128 + signal after a stop (130 for Ctrl-C, 143 for SIGTERM)."""
        return 0 if self.stop_signal is None else 128 + self.stop_signal

    def _schedule(self) -> float:
        return schedule_at(self.params, self.t)

    def _act(self, flat: np.ndarray) -> tuple[np.ndarray, dict]:
        assert self.window is not None, "start() or restore() first"
        agent, window = self.experiment.agent, self.window.ravel()
        # colored noise: step k of an episode always uses element k of its sequences, so one is drawn every step;
        # it is discarded during start_steps (uniform, prior or PolyRL actions, as the pink-noise paper's SAC) and
        # when the prior acts (SFP's mixture: only the policy's part is colored)
        noise = self.noise.sample() if self.noise is not None else None
        if self.t >= self.params.start_steps:
            return agent.act(flat, window, schedule=self._schedule(), noise=noise)
        if self.experiment.polyrl is not None:
            policy_sample = lambda: agent.act(flat, window, schedule=0.0)[0]  # noqa: E731  (the SAC policy alone)
            action = self.experiment.polyrl.select_action(flat, self.window[-1], policy_sample)
            return action.astype(np.float32), {"prior_used": 0.0, "mixing_weight": 0.0}
        return agent.explore(flat, window)

    def _step(self) -> None:
        params, experiment = self.params, self.experiment
        assert self.window is not None and self.episode is not None, "start() or restore() first"
        flat = flat_observation(self.obs)
        action, info = self._act(flat)
        self.logger.store(PriorP=info["prior_used"], MixingWeight=info["mixing_weight"])
        obs2, reward, terminated, truncated, env_info = experiment.env.step(action)
        stored = env_info.get("executed_action", action)
        self.window = push(self.window, stored)
        self.episode.add(
            action, stored, obs2, float(reward), bool(terminated), bool(env_info.get("success")), self.window
        )
        if experiment.polyrl is not None:
            experiment.polyrl.post_step(flat, flat_observation(obs2))
        self.obs = obs2
        if self.visits is not None:
            self.visits.record(self.t)
        self.t += 1
        if terminated or truncated or len(self.episode) >= params.max_ep_len:
            self._finish_episode()
        if self.t > params.update_after and self.t - self.last_update >= params.update_every:
            self.last_update = self.t
            self.owed_rounds += 1
        if self.owed_rounds and len(experiment.buffer) > 0:
            if self.owed_rounds > 1:
                tqdm.write(
                    f"note: {self.owed_rounds - 1} update rounds fell due before the first episode was stored; "
                    f"running them now, at step {self.t}"
                )
            for _ in range(self.owed_rounds):
                self._update()
            self.owed_rounds = 0

    def _finish_episode(self) -> None:
        episode = self.episode
        assert episode is not None, "start() or restore() first"
        self.experiment.buffer.store_episode(episode.as_replay_episode())
        self.logger.store(EpRet=episode.ret, EpLen=len(episode), SuccessRate=float(episode.success))
        self.episodes += 1
        self._new_episode()

    def _update(self) -> None:
        params, experiment = self.params, self.experiment
        progress = self.t / self.total_steps
        for _ in range(params.update_every):
            batch, idx = experiment.buffer.sample(params.batch_size, progress, force_uniform=params.sil)
            info, priorities = experiment.agent.update(batch)
            self._check_finite(info)
            self.logger.store(**info, Weights=batch.weights, Priorities=priorities)
            if params.prioritize and not params.sil:
                experiment.buffer.update_priorities(idx, priorities)
        for _ in range(params.update_every * params.sil_m if params.sil else 0):
            batch, idx = experiment.buffer.sample(params.sil_bs, progress)
            info, priorities = experiment.agent.imitate(batch)
            self._check_finite(info)
            if params.prioritize:
                experiment.buffer.update_priorities(idx, priorities)
        self.updates += params.update_every

    def _check_finite(self, info: dict) -> None:
        bad = [key for key, value in info.items() if not math.isfinite(value)]
        if bad:
            raise NonFiniteLoss(f"{', '.join(bad)} became non-finite at step {self.t}")

    # ------------------------------------------------------------------------------------------------ epochs
    def _end_epoch(self, bar) -> None:
        params = self.params
        epoch = self.t // params.steps_per_epoch
        self._test()
        if (
            params.video_freq > 0 and epoch % params.video_freq == 0
        ):  # the first test episode's seed, on an env of its own
            record_test_video(self.experiment, self.run_dir / "videos" / f"epoch_{epoch}.mp4", params.seed + 10_000)
        if self.visits is not None:
            self.visits.write(self.run_dir / VISITATION_FILE, epoch)
        row = self.logger.log_epoch(epoch, self.t, self.updates)
        bar.set_postfix(epoch=epoch, test_success=f"{row['AverageTestSuccessRate']:.2f}")
        last = self.t >= self.total_steps
        if last or (params.save_freq > 0 and epoch % params.save_freq == 0):
            self.save()

    def _test(self) -> None:
        """num_test_episodes deterministic episodes on the test env (its first reset seeded with seed + 10,000)."""
        for _ in range(self.params.num_test_episodes):
            seed = None if self.test_seeded else self.params.seed + 10_000
            self.test_seeded = True
            result = run_episode(
                self.experiment.test_env,
                self.experiment.agent,
                "deterministic",
                seed,
                self.params.max_ep_len,
                self.test_windows,
            )
            self.logger.store(TestEpRet=result.ret, TestEpLen=result.length, TestSuccessRate=float(result.success))

    # ------------------------------------------------------------------------------------------------ saving
    def save(self) -> Path:
        experiment, ep = self.experiment, self.episode
        assert ep is not None, "start() or restore() first"
        state = {
            "t": self.t,
            "updates": self.updates,
            "last_update": self.last_update,
            "owed_rounds": self.owed_rounds,
            "episodes": self.episodes,
            "test_seeded": self.test_seeded,
            "window": self.window,
            "agent": experiment.agent.state_dict(),
            "buffer": experiment.buffer.state_dict(),
            "windows": experiment.windows.state_dict(),
            "logger": self.logger.state_dict(),
            "polyrl": experiment.polyrl.state_dict() if experiment.polyrl is not None else None,
            "action_noise": self.noise.state_dict() if self.noise is not None else None,
            "visitation": self.visits.state_dict() if self.visits is not None else None,
            "episode": {
                "reset_seed": ep.reset_seed,
                "rng_state": ep.rng_state,
                "env_actions": ep.env_actions,
                "actions": ep.actions,
                "observations": ep.observations,
                "rewards": ep.rewards,
                "terminals": ep.terminals,
                "windows": ep.windows,
                "ret": ep.ret,
                "success": ep.success,
            },
            "test_env_rng": rng_snapshot(experiment.test_env),
            "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
        }
        return save_checkpoint(self.run_dir, state)

    def restore(self) -> None:
        """Continue from the run directory's checkpoint."""
        state = load_checkpoint(self.run_dir)
        experiment = self.experiment
        for key in ("t", "updates", "last_update", "episodes", "test_seeded", "window"):
            setattr(self, key, state[key])
        self.owed_rounds = state.get("owed_rounds", 0)  # checkpoints of older versions never owed a round
        experiment.agent.load_state_dict(state["agent"])
        experiment.buffer.load_state_dict(state["buffer"])
        experiment.windows.load_state_dict(state["windows"])
        self.logger.load_state_dict(state["logger"])
        if experiment.polyrl is not None:
            experiment.polyrl.load_state_dict(state["polyrl"])
        if self.noise is not None:
            self.noise.load_state_dict(state["action_noise"])
        if self.visits is not None and state.get("visitation") is not None:
            self.visits.load_state_dict(state["visitation"])
        restore_rng(experiment.test_env, state["test_env_rng"])
        self._restore_episode(state["episode"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])

    def _restore_episode(self, saved: dict) -> None:
        """Rebuild the simulator state of the episode in progress by replaying its actions."""
        replayed = replay_episode(self.experiment.env, saved["reset_seed"], saved["rng_state"], saved["env_actions"])
        if not _same_observations(replayed, saved["observations"]):
            raise UserError(
                f"the environment did not replay the saved episode identically (a library version changed, or "
                f"the environment draws from a random generator the checkpoint cannot reach); {self.run_dir} cannot "
                f"be resumed exactly: move it away and start the run again"
            )
        episode = Episode(saved["observations"][0], np.zeros(0), saved["reset_seed"], saved["rng_state"])
        for key in ("env_actions", "actions", "observations", "rewards", "terminals", "windows", "ret", "success"):
            setattr(episode, key, saved[key])
        self.episode, self.obs = episode, saved["observations"][-1]


def _same_observations(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for left, right in zip(a, b):
        left, right = (left, right) if isinstance(left, dict) else ({"o": left}, {"o": right})
        if any(not np.array_equal(left[key], right[key]) for key in left):
            return False
    return True
