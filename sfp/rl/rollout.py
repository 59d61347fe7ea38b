"""One episode of an agent in an environment: the rollout that training's test episodes (sfp.rl.trainer) and
sfp-evaluate (sfp.rl.evaluation) both run, so that a test score during training and an evaluation afterwards are
measured the same way."""

from dataclasses import dataclass

import gymnasium

from sfp.rl.action_noise import EpisodeNoise
from sfp.rl.action_windows import InitialWindows, push
from sfp.rl.build import flat_observation
from sfp.rl.video import VideoFile


@dataclass
class EpisodeResult:
    seed: int | None  # the reset seed (None: the env continues its own generator)
    ret: float
    length: int
    success: bool
    prior_actions: int


def run_episode(
    env: gymnasium.Env,
    agent,
    policy: str,
    seed: int | None,
    max_ep_len: int,
    windows: InitialWindows,
    schedule: float = 1.0,
    video: VideoFile | None = None,
    noise: EpisodeNoise | None = None,
) -> EpisodeResult:
    """One episode from env.reset(seed=seed); windows gives the prior's first (n, A) window; noise, if given, the
    behaviour policy's colored ε (reset here). With `video`, one frame after the reset and one after every step (so
    length + 1 frames)."""
    obs, _ = env.reset(seed=seed)
    window = windows.sample()
    if noise is not None:
        noise.reset()
    ret, length, success, prior_actions, done = 0.0, 0, False, 0, False
    if video is not None:
        video.capture(0, False)
    while not done:
        action, info = agent.act(
            flat_observation(obs),
            window.ravel(),
            deterministic=policy == "deterministic",
            schedule=schedule,
            noise=noise.sample() if noise is not None else None,
        )
        obs, reward, terminated, truncated, env_info = env.step(action)
        window = push(window, env_info.get("executed_action", action))
        ret, length = ret + float(reward), length + 1
        success = success or bool(env_info.get("success"))
        prior_actions += int(info["prior_used"])
        done = terminated or truncated or length >= max_ep_len
        if video is not None:
            video.capture(length, success)
    return EpisodeResult(seed, ret, length, success, prior_actions)


def schedule_at(params, env_steps: int) -> float:
    """The prior schedule's weight after `env_steps` training steps (1 without prior_schedule): the one place that
    computes it, for training's behaviour policy and for evaluating a checkpoint."""
    return 1.0 if params.prior_schedule == 0 else min(1.0, env_steps / params.prior_schedule)
