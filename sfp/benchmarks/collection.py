"""Collection speed (scripts/bench_collect.py, scripts/bench.py): the bare environment against the collector."""

import tempfile
import time
from pathlib import Path

import numpy as np

from sfp.data.collector import collect, piece_name, trajectory_randomness
from sfp.data.experts import expert_for


def bare_steps_per_second(suite: str, folder: Path, num_trajs: int) -> float:
    """env.step rate of the suite's environment replaying the collected actions from the same reset seeds,
    so that the bare loop does exactly the environment work of the collection and nothing else."""
    expert = expert_for(suite)
    env = expert.make_env()
    replays = []
    for index in range(num_trajs):
        with np.load(folder / piece_name(expert.short, index)) as piece:
            replays.append((trajectory_randomness(0, index)[0], piece["actions"]))
    start = time.perf_counter()
    for env_seed, actions in replays:
        env.reset(seed=env_seed)
        for action in actions:
            env.step(action)
    seconds = time.perf_counter() - start
    env.close()
    return num_trajs * len(replays[0][1]) / seconds


def bench_suite(suite: str, num_trajs: int, traj_len: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        one = collect(suite, num_trajs, traj_len, workers=1, folder=Path(folder) / "one", progress=False)
        two = collect(suite, num_trajs, traj_len, workers=2, folder=Path(folder) / "two", progress=False)
        bare = bare_steps_per_second(suite, Path(folder) / "one", num_trajs)
    return {
        "bare": bare,
        "worker": one.worker_steps_per_second,
        "wall1": one.wall_steps_per_second,
        "wall2": two.wall_steps_per_second,
    }
