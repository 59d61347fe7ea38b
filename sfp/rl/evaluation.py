"""Evaluate a trained run: rebuild it from its directory and run episodes with its networks.

`load_run(run_dir, checkpoint)` reads the run's config.json through the same parameter rules as main.py, checks
that the prior and dataset it was trained with are still where provenance.json says (md5 included), builds the
experiment with sfp.rl.build and loads the agent's networks from checkpoint.pt. `evaluate(run, ...)` runs the
episodes with one of two policies:
  deterministic  tanh(mu), as the test episodes of training;
  behaviour      the training behaviour after `start_steps`: with use_prior, the prior's sample with probability
                 lambda(s)*schedule, else the policy's sample (baselines: the policy's sample); the prior's window
                 starts from the dataset and follows the executed actions, as in training; runs with
                 --action_noise pink draw the policy's noise from one colored sequence per episode, as in training.
Episode i is seeded with the i-th word of numpy's SeedSequence(seed), so a longer evaluation with the same seed
repeats the episodes of a shorter one. `record_test_video` is the trainer's --video_freq hook.
"""

import json
import random
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from sfp import paths
from sfp.envs import env_family, make_env_from_params
from sfp.errors import UserError
from sfp.provenance import PROVENANCE_FILE
from sfp.rl.action_noise import EpisodeNoise
from sfp.rl.action_priors import action_box
from sfp.rl.action_windows import InitialWindows
from sfp.rl.build import (
    Experiment,
    build_experiment,
    needs_action_windows,
)
from sfp.rl.checkpoint import CHECKPOINT_FILE
from sfp.rl.logger import CONFIG_FILE
from sfp.rl.params import load_rl_params
from sfp.rl.rollout import run_episode, schedule_at
from sfp.rl.video import VideoFile
from sfp.rl.wrappers import wrap_action_prior
from sfp.runtime import seed_everything, set_threads

POLICIES = ("deterministic", "behaviour")
MAX_EPISODES = 100_000  # an evaluation's episodes (a day or more of episodes on one core)
MAX_SEED = 2**32 - 1  # numpy's seeds
BOOTSTRAP_SAMPLES = 10_000
# provenance label -> (environment variable, folder the run reads that input from now)
INPUT_DIRS = {
    "prior": ("SFP_FLOW_DIR", paths.flow_dir),
    "action_prior": ("SFP_FLOW_DIR", paths.flow_dir),
    "dataset": ("D4RL_DATASET_DIR", paths.dataset_dir),
}


@dataclass
class Run:
    directory: Path
    checkpoint: Path
    experiment: Experiment
    env_steps: int  # environment steps the checkpoint was trained for
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.experiment.env.close()
        self.experiment.test_env.close()


# ------------------------------------------------------------------------------------------------ rebuilding
def config_argv(config: dict) -> list[str]:
    """config.json {key: value} -> ['--key=value', ...] for sfp.rl.params (booleans as True/False)."""
    return [f"--{key}={value}" for key, value in config.items()]


def load_run_params(directory: Path):
    """The params namespace main.py had for the run in `directory` (evaluated on the CPU, never resumed)."""
    if not directory.is_dir():
        raise UserError(
            f"no run directory {directory}: pass the folder holding config.json and checkpoint.pt "
            f"(runs are in $SFP_LOG_DIR/<exp_name>_s<seed>)"
        )
    path = directory / CONFIG_FILE
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{directory} holds no run ({CONFIG_FILE} is missing): pass a run directory") from None
    except json.JSONDecodeError:
        raise UserError(f"{path} is damaged (not JSON); restore it, it holds the run's parameters") from None
    if not isinstance(config, dict) or "env" not in config:
        problem = "names no env (the run's task)" if isinstance(config, dict) else "is not a JSON object"
        raise UserError(f"{path} is damaged: it {problem}; restore it, it holds the run's parameters")
    config.update(gpu=False, resume=False)
    try:
        params, _ = load_rl_params(config_argv(config))
    except UserError as err:
        raise UserError(f"{path} does not fit this version's parameters ({err})") from None
    return params


def check_inputs(directory: Path) -> list[str]:
    """Compare the prior(s) and dataset the run would load now with the ones provenance.json recorded.

    A moved or missing file raises a UserError naming where it was and the variable to set; a file whose md5 differs
    gives a note (returned). Without provenance.json, a note says nothing could be checked."""
    try:
        record = json.loads((directory / PROVENANCE_FILE).read_text())[-1]
    except (FileNotFoundError, json.JSONDecodeError, IndexError, KeyError):
        return [f"{PROVENANCE_FILE} is missing or damaged: the prior and dataset could not be checked"]
    notes = []
    for label, entry in record.get("files", {}).items():
        if label not in INPUT_DIRS:
            continue
        variable, folder = INPUT_DIRS[label]
        recorded = Path(entry["path"])
        current = folder() / recorded.name
        if not current.is_file():
            fix = (
                f"set {variable}={recorded.parent}"
                if recorded.is_file()
                else f"move it back or set {variable} to the folder that now holds it"
            )
            raise UserError(f"the {label} this run was trained with is not at {current} (it was {recorded}); {fix}")
        md5 = paths.file_md5(current)
        if entry.get("md5") and md5 != entry["md5"]:
            notes.append(
                f"{current} is not the {label} this run was trained with (md5 {md5}, recorded "
                f"{entry['md5']}); restore that file to evaluate the run exactly as trained"
            )
    return notes


def load_agent_state(path: Path) -> dict:
    """The checkpoint's contents (a run's own file: loaded with weights_only=False); one-line errors."""
    if not path.is_file():
        raise UserError(
            f"no checkpoint at {path}: the run saves one every save_freq epochs and at the end; "
            f"wait for it, or pass --checkpoint"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated or foreign file
        raise UserError(
            f"{path} is damaged ({type(err).__name__}); pass another with --checkpoint or resume "
            f"training to write a new one"
        ) from None
    if not isinstance(state, dict) or "agent" not in state or "t" not in state:
        raise UserError(f"{path} is not a run checkpoint of main.py; pass the run's checkpoint.pt")
    return state


def load_run(directory: str | Path, checkpoint: str | Path | None = None) -> Run:
    """Rebuild the run in `directory` with the networks of `checkpoint` (default: its checkpoint.pt)."""
    directory = Path(directory)
    params = load_run_params(directory)
    notes = check_inputs(directory)
    checkpoint = Path(checkpoint) if checkpoint is not None else directory / CHECKPOINT_FILE
    state = load_agent_state(checkpoint)
    set_threads(params.num_threads)
    experiment = build_experiment(params)
    try:
        experiment.agent.load_state_dict(state["agent"])
    except (RuntimeError, KeyError) as err:
        raise UserError(
            f"{checkpoint} does not fit the networks that {directory / CONFIG_FILE} describes "
            f"({str(err).splitlines()[0]}); pass this run's own checkpoint, or restore the run's {CONFIG_FILE}"
        ) from None
    return Run(directory, checkpoint, experiment, int(state["t"]), notes)


# ------------------------------------------------------------------------------------------------ episodes
def episode_seeds(seed: int, episodes: int) -> list[int]:
    """The reset seed of each episode: the first `episodes` words of SeedSequence(seed) (prefix-stable)."""
    return [int(word) for word in np.random.SeedSequence(seed).generate_state(episodes)]


def behaviour_noise(params, policy: str, act_dim: int, episode_seed: int) -> EpisodeNoise | None:
    """The colored ε of a behaviour episode of a --action_noise pink run (None otherwise: i.i.d. noise)."""
    if policy != "behaviour" or params.action_noise == "white":
        return None
    return EpisodeNoise(params.noise_beta, act_dim, params.max_ep_len, episode_seed)


def bootstrap_interval(values: np.ndarray, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (N,), BOOTSTRAP_SAMPLES resamples."""
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(BOOTSTRAP_SAMPLES, len(values))).mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def check_options(policy: str, episodes: int, video_episodes: int, seed: int = 0) -> None:
    """A UserError naming the flag unless the policy is known and the numbers are within their bounds."""
    if policy not in POLICIES:
        raise UserError(f"unknown policy {policy!r}: use --policy {' or '.join(POLICIES)}")
    for flag, value in (("--episodes", episodes), ("--video_episodes", video_episodes)):
        if not 1 <= value <= MAX_EPISODES:
            raise UserError(f"{flag} {value} is out of range: use 1 to {MAX_EPISODES:,} episodes")
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"--seed {seed} is out of range: use a seed from 0 to {MAX_SEED} (2**32 - 1)")


def evaluate(
    run: Run,
    episodes: int = 20,
    policy: str = "deterministic",
    seed: int = 123,
    video: str | Path | None = None,
    video_episodes: int = 3,
) -> dict:
    """Run `episodes` episodes; returns the report (the content of eval_<policy>_<seed>.json)."""
    check_options(policy, episodes, video_episodes, seed)
    x, params = run.experiment, run.experiment.params
    env, act_dim = x.test_env, action_box(x.test_env).shape[0]
    dataset = x.dataset if needs_action_windows(params) else None
    schedule = schedule_at(params, run.env_steps)
    recorder = VideoFile(video, env, env_family(params.env)) if video is not None else None
    results, finished = [], False
    try:
        for index, episode_seed in enumerate(episode_seeds(seed, episodes)):
            seed_everything(episode_seed)
            windows = InitialWindows(dataset, params.prior_n_step, act_dim, params.rand_init_cond, episode_seed)
            recording = recorder if index < video_episodes else None
            noise = behaviour_noise(params, policy, act_dim, episode_seed)
            results.append(
                run_episode(env, x.agent, policy, episode_seed, params.max_ep_len, windows, schedule, recording, noise)
            )
        finished = True
    finally:
        if recorder is not None:
            recorder.close(keep=finished)  # no partial video
    successes = np.array([r.success for r in results], float)
    steps = sum(r.length for r in results)
    return {
        "run": str(run.directory),
        "checkpoint": str(run.checkpoint),
        "env_steps": run.env_steps,
        "env": params.env,
        "policy": policy,
        "seed": seed,
        "episodes": episodes,
        "success_rate": float(successes.mean()),
        "success_ci95": list(bootstrap_interval(successes, seed)),
        "mean_return": float(np.mean([r.ret for r in results])),
        "mean_length": float(np.mean([r.length for r in results])),
        "prior_share": sum(r.prior_actions for r in results) / steps if policy == "behaviour" else None,
        "video": str(video) if video is not None else None,
        "video_frames": recorder.frames if recorder is not None else 0,
        "notes": run.notes,
        "per_episode": [asdict(r) for r in results],
    }


def report_path(run_dir: str | Path, policy: str, seed: int) -> Path:
    return Path(run_dir) / f"eval_{policy}_{seed}.json"


def format_report(report: dict) -> str:
    """The console table of a report."""
    low, high = report["success_ci95"]
    rows = [
        ("episodes", f"{report['episodes']}"),
        ("success rate", f"{report['success_rate']:.3f}  [{low:.3f}, {high:.3f}] 95% bootstrap"),
        ("mean return", f"{report['mean_return']:.3f}"),
        ("mean episode length", f"{report['mean_length']:.1f}"),
    ]
    if report["prior_share"] is not None:
        rows.append(("prior share of actions", f"{report['prior_share']:.3f}"))
    title = (
        f"{report['env']} · {report['policy']} policy · seed {report['seed']} · {report['env_steps']} training steps"
    )
    width = max(len(name) for name, _ in rows)
    return "\n".join([title] + [f"  {name:<{width}}  {value}" for name, value in rows])


# ------------------------------------------------------------------------------------------------ training hook
@contextmanager
def preserved_rng():
    """Restore Python's, numpy's and torch's global random states on exit (a video must not change training)."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def record_test_video(experiment: Experiment, path: Path, seed: int) -> int:
    """One deterministic test episode, reset with `seed`, on an environment of its own, written to `path`.
    Training continues bit-identically (own env, global random states restored). Returns the frames written."""
    params = experiment.params
    with preserved_rng():
        env = wrap_action_prior(make_env_from_params(params), params, experiment.device)
        windows = InitialWindows(None, params.prior_n_step, action_box(env).shape[0], False, seed)
        try:
            with VideoFile(path, env, env_family(params.env)) as video:
                run_episode(env, experiment.agent, "deterministic", seed, params.max_ep_len, windows, video=video)
        finally:
            env.close()
    return video.frames
