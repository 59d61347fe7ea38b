"""The peer reference `sb3_sac`: Stable-Baselines3's SAC with its HerReplayBuffer, at SB3's own defaults, run and
logged like a run of this project so that it lands in the same tables (sfp.experiments.analysis).

What it shares with our runs: the task (the registered goal environment `sfp/<task>`, dict observations, its own
`compute_reward` for HER), the budget (`epochs` x `steps_per_epoch`), `start_steps` uniform random actions before
learning (SB3's `learning_starts`), the test protocol (`num_test_episodes` deterministic episodes at the end of every
epoch on a test env of its own, first reset with seed + 10,000; success = any step succeeds) and the run directory
(config.json, progress.txt with the columns of sfp.rl.logger.RL_ROW, tensorboard, provenance.json, the lock).

What stays SB3's (`SB3_SETTINGS`): autotuned entropy (initial 1.0, target -|A|), lr 3e-4, batch 256, tau 0.005,
gamma 0.99, one gradient step per environment step, 256x256 networks, HER `future` with 4 sampled goals, one-step
returns. Its replay capacity is the run's budget (SB3's 1M holds more than a run ever stores, so nothing changes
but the memory it reserves).

Checkpoints: the model, its optimisers and the replay buffer every `save_freq` epochs (default each), written to
`sb3-epoch-<k>/` before `checkpoint.pt` names it. SIGINT/SIGTERM stop the run at once (exit 130/143) keeping the
last checkpoint; `--resume True` continues from it. A resumed run is not bit-identical to an uninterrupted one
(SB3 keeps no generator state in its files): at most the epoch after the checkpoint is recomputed.
"""

import math
import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from sfp import paths
from sfp.config import load_defaults
from sfp.envs import episode_steps, make_env
from sfp.envs.gym_task import parse_env_kwargs
from sfp.errors import UserError
from sfp.provenance import write_provenance
from sfp.rl.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from sfp.rl.env_snapshot import restore_rng, rng_snapshot
from sfp.rl.logger import EpochLogger, check_run_claim, claim_run_dir
from sfp.rl.params import PARAMS_FILE, RLParams
from sfp.rl.run import start_up_file
from sfp.rl.trainer import deferred_interrupt
from sfp.run_lock import hold_run_lock, refuse_if_held
from sfp.runtime import seed_everything, set_threads

PEER_COMMAND = "sfp.commands.train_sb3"  # its entry point (sfp/rl/methods.py names it for the grid launcher)
BENCH_INSTALL = 'pip install "sfp[bench]" (or pip install -r requirements-bench.txt)'
# main.py's parameters that sb3_sac honours; any other must keep its default (SB3 has its own settings).
USED_PARAMS = (
    "exp_name",
    "env",
    "env_kwargs",
    "epochs",
    "seed",
    "num_threads",
    "num_test_episodes",
    "save_freq",
    "debug",
    "steps_per_epoch",
    "start_steps",
    "resume",
)
# Parameters whose default a family setting may change (sfp.rl.params.resolve_family_settings): not a user's choice.
DERIVED_PARAMS = ("goal_cond", "her")
SB3_SETTINGS = {
    "learning_rate": 3e-4,
    "batch_size": 256,
    "tau": 0.005,
    "gamma": 0.99,
    "train_freq": 1,
    "gradient_steps": 1,
    "ent_coef": "auto",
    "target_entropy": "auto",
    "net_arch": [256, 256],
    "n_sampled_goal": 4,
    "goal_selection_strategy": "future",
}
TEST_SEED_OFFSET = 10_000  # as sfp.rl.trainer: the test env's first reset uses seed + 10,000


def check_peer_params(params) -> None:
    """One line for a parameter sb3_sac would silently ignore, or a task it cannot run."""
    defaults = load_defaults(PARAMS_FILE, RLParams)
    for key, (default, _) in defaults.items():
        if key in USED_PARAMS or key in DERIVED_PARAMS:
            continue
        if params.value(key) != default:
            raise UserError(
                f"sb3_sac runs Stable-Baselines3's SAC at its own settings; --{key} is not one of its "
                f"parameters (it takes {', '.join(USED_PARAMS[1:10])}): remove it"
            )
    if not params.her:
        raise UserError(f"sb3_sac is SAC + HER and needs a goal-conditioned task; {params.env} is not one")
    episode = episode_steps(params.env, parse_env_kwargs(params.env_kwargs))
    if params.start_steps < episode:
        raise UserError(
            f"sb3_sac's HER buffer cannot sample before its first episode ends: --start_steps "
            f"{params.start_steps} must be at least the {episode} steps of a {params.env} episode"
        )


def require_sb3():
    try:
        import stable_baselines3
    except ImportError:
        raise UserError(f"sb3_sac needs Stable-Baselines3: {BENCH_INSTALL}") from None
    return stable_baselines3


def peer_config(params) -> dict:
    """config.json of a peer run: the parameters it honours, the method, and SB3's settings."""
    return {
        **{key: params.value(key) for key in USED_PARAMS},
        "method": "sb3_sac",
        "sb3": {
            **SB3_SETTINGS,
            "buffer_size": params.epochs * params.steps_per_epoch,
            "learning_starts": params.start_steps,
            "stable_baselines3": require_sb3().__version__,
        },
    }


def run_peer(params) -> int:
    """Train, test and log one sb3_sac run; returns the exit status (0, or 130/143 after a signal). The run
    directory is checked, locked and cleaned up after a failed start as main.py's (sfp.rl.run)."""
    check_peer_params(params)
    sb3 = require_sb3()
    with deferred_interrupt() as interrupt:
        directory = paths.check_run_dir(paths.run_dir(params.exp_name, params.seed, params.debug))
        refuse_if_held(directory)
        config = peer_config(params)
        check_run_claim(directory, config, params.resume)
        threads = set_threads(params.num_threads)
        seed_everything(params.seed)
        kwargs = parse_env_kwargs(params.env_kwargs)
        env, test_env = make_env(params.env, env_kwargs=kwargs), make_env(params.env, env_kwargs=kwargs)
        with hold_run_lock(directory, start_up_file):
            claim_run_dir(directory, config, params.resume)
            logger = EpochLogger(directory)
            logger.save_config(config)
            write_provenance(directory, {})
            tqdm.write(
                f"note: Stable-Baselines3 {sb3.__version__} SAC + HER on {params.env}; torch threads: "
                f"{threads}; logs: {directory}"
            )
            try:
                return PeerRun(params, env, test_env, logger, directory).train(interrupt)
            finally:
                logger.close()
                env.close()
                test_env.close()


class PeerRun:
    """The SB3 model, its epoch callback (test episodes, one log row, a checkpoint) and its resume."""

    def __init__(self, params, env, test_env, logger: EpochLogger, directory: Path):
        self.params, self.env, self.test_env, self.logger, self.directory = params, env, test_env, logger, directory
        self.total_steps = params.epochs * params.steps_per_epoch
        self.test_seeded = False

    def _new_model(self):
        from stable_baselines3 import SAC, HerReplayBuffer

        s, p = SB3_SETTINGS, self.params
        return SAC(
            "MultiInputPolicy",
            self.env,
            learning_rate=s["learning_rate"],
            buffer_size=self.total_steps,
            learning_starts=p.start_steps,
            batch_size=s["batch_size"],
            tau=s["tau"],
            gamma=s["gamma"],
            train_freq=s["train_freq"],
            gradient_steps=s["gradient_steps"],
            ent_coef=s["ent_coef"],
            target_entropy=s["target_entropy"],
            replay_buffer_class=HerReplayBuffer,
            replay_buffer_kwargs={
                "n_sampled_goal": s["n_sampled_goal"],
                "goal_selection_strategy": s["goal_selection_strategy"],
            },
            policy_kwargs={"net_arch": s["net_arch"]},
            seed=p.seed,
            device="cpu",
            verbose=0,
        )

    def _restore(self):
        """The model and replay buffer of the checkpoint, the logger's rows and the generators."""
        from stable_baselines3 import SAC

        state = load_checkpoint(self.directory)
        folder = self.directory / state["folder"]
        model = SAC.load(folder / "model.zip", env=self.env, device="cpu")
        with warnings.catch_warnings():  # SB3 warns that the episode in progress at the checkpoint is cut: it is
            warnings.simplefilter("ignore", UserWarning)  # (stored as a time-limit truncation; a new one starts)
            model.load_replay_buffer(folder / "replay.pkl", truncate_last_traj=True)
        self.logger.load_state_dict(state["logger"])
        self.test_seeded = state["test_seeded"]
        restore_rng(self.test_env, state["test_env_rng"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        return model

    def _save(self, model, epoch: int) -> None:
        folder = self.directory / f"sb3-epoch-{epoch}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        model.save(folder / "model.zip")
        model.save_replay_buffer(folder / "replay.pkl")
        state = {
            "epoch": epoch,
            "folder": folder.name,
            "logger": self.logger.state_dict(),
            "test_seeded": self.test_seeded,
            "test_env_rng": rng_snapshot(self.test_env),
            "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
        }
        save_checkpoint(self.directory, state)
        for old in self.directory.glob("sb3-epoch-*"):
            if old != folder:
                shutil.rmtree(old)

    def train(self, interrupt: dict) -> int:
        resume = self.params.resume and (self.directory / CHECKPOINT_FILE).exists()
        model = self._restore() if resume else self._new_model()
        done_steps = int(model.num_timesteps)
        callback = self._callback(model, interrupt, done_steps)
        if done_steps < self.total_steps:
            model.learn(
                total_timesteps=self.total_steps - done_steps,
                callback=callback,
                reset_num_timesteps=not resume,
                progress_bar=False,
            )
        callback.bar.close()
        if interrupt["signal"] is not None and model.num_timesteps < self.total_steps:
            tqdm.write(
                f"stopped at step {model.num_timesteps}; the checkpoint of the last epoch is kept; "
                f"continue with --resume True"
            )
            return 128 + interrupt["signal"]
        tqdm.write(f"done: progress.txt, tensorboard events and the SB3 model in {self.directory}")
        return 0

    def _callback(self, model, interrupt: dict, done_steps: int):
        from stable_baselines3.common.callbacks import BaseCallback

        run = self

        class EpochCallback(BaseCallback):
            def __init__(self):
                super().__init__()
                self.bar = tqdm(
                    total=run.total_steps, initial=done_steps, unit="step", desc=run.params.exp_name, dynamic_ncols=True
                )
                self.ret, self.success, self.length = 0.0, False, 0

            def _on_step(self) -> bool:
                info, reward = self.locals["infos"][0], float(self.locals["rewards"][0])
                self.ret, self.success = self.ret + reward, self.success or bool(info.get("success"))
                self.length += 1
                losses = self.model.logger.name_to_value
                for column, key in (
                    ("LossPi", "train/actor_loss"),
                    ("LossQ", "train/critic_loss"),
                    ("LossAlpha", "train/ent_coef_loss"),
                ):
                    if key in losses:
                        run.logger.store(**{column: losses[key]})
                if self.locals["dones"][0]:
                    run.logger.store(EpRet=self.ret, EpLen=self.length, SuccessRate=float(self.success))
                    self.ret, self.success, self.length = 0.0, False, 0
                self.bar.update(1)
                t = self.model.num_timesteps
                if t % run.params.steps_per_epoch == 0:
                    run._end_epoch(self.model, t)
                return interrupt["signal"] is None

        return EpochCallback()

    def _end_epoch(self, model, t: int) -> None:
        p = self.params
        epoch = t // p.steps_per_epoch
        self._test(model)
        self.logger.store(Alpha=math.exp(float(model.log_ent_coef.detach())))
        self.logger.log_epoch(epoch, t, int(model._n_updates))
        if t >= self.total_steps or (p.save_freq > 0 and epoch % p.save_freq == 0):
            self._save(model, epoch)

    def _test(self, model) -> None:
        for _ in range(self.params.num_test_episodes):
            seed = None if self.test_seeded else self.params.seed + TEST_SEED_OFFSET
            obs, _ = self.test_env.reset(seed=seed)
            self.test_seeded = True
            ret, length, success, done = 0.0, 0, False, False
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, reward, terminated, truncated, info = self.test_env.step(action)
                ret, length, success = ret + float(reward), length + 1, success or bool(info.get("success"))
                done = terminated or truncated
            self.logger.store(TestEpRet=ret, TestEpLen=length, TestSuccessRate=float(success))
