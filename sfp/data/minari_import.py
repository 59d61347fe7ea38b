"""Import a Minari dataset that is already on this machine as `$D4RL_DATASET_DIR/<short>_primitive.hdf5`.

The dataset is read with `minari.load_dataset(id)` from Minari's local root ($MINARI_DATASETS_PATH, default
~/.minari/datasets); nothing is downloaded (`minari download <id>` fetches one). Each Minari episode holds T steps
and T + 1 observations; its steps become rows, and a trajectory ends where Minari's terminations or truncations
are set (the last step of an episode always ends one). Goals follow the D4RL import: the next observation. For
dict observations with a `desired_goal` (goal-conditioned data such as a point maze's), the rows take
`observation` as the state and `desired_goal` at the step as the goal: that is the target the data's policy was
heading for, which is what this project's own datasets store. Without `traj_len` every episode is one trajectory;
with it every episode is cut into pieces of at most `traj_len` rows (sfp.data.episodes). `max_trajs` keeps the
first trajectories, and only the episodes they need are read.
"""
from pathlib import Path

import numpy as np

from sfp import paths
from sfp.data.episodes import ImportSummary, output_file, write_import
from sfp.errors import UserError


def load_minari(dataset_id: str):
    """The local Minari dataset `dataset_id`; UserError naming the download command when it is not there."""
    import minari

    try:
        return minari.load_dataset(dataset_id)
    except FileNotFoundError:
        root = Path(minari.storage.get_dataset_path())
        raise UserError(f"no Minari dataset {dataset_id!r} in {root}: fetch it with `minari download {dataset_id}` "
                        "(or point MINARI_DATASETS_PATH at the folder that holds it)") from None


def episode_rows(episode) -> dict[str, np.ndarray]:
    """The step arrays (sfp.data.episodes) of one Minari episode of T steps: observations (T, S), actions (T, A),
    goals (T, G), rewards (T,), terminals (T,), timeouts (T,) with the last row always an end."""
    observations = episode.observations
    if isinstance(observations, dict):
        if "observation" not in observations or "desired_goal" not in observations:
            raise UserError(f"the episodes' observations are a dict of {sorted(observations)}; only vector "
                            "observations or dicts with 'observation' and 'desired_goal' can be imported")
        states, goals = observations["observation"][:-1], observations["desired_goal"][:-1]
    else:
        states, goals = observations[:-1], observations[1:]
    actions = np.asarray(episode.actions)
    if states.ndim != 2 or goals.ndim != 2 or actions.ndim != 2:
        raise UserError(f"observations {states.shape[1:]} and actions {actions.shape[1:]} per step: only flat "
                        "vectors can be imported (no images, no discrete actions)")
    terminals = np.asarray(episode.terminations, bool).copy()
    timeouts = np.asarray(episode.truncations, bool).copy()
    timeouts[-1] |= not terminals[-1]
    return {"observations": states, "actions": actions, "goals": goals,
            "rewards": np.asarray(episode.rewards, np.float32), "terminals": terminals, "timeouts": timeouts}


def read_episodes(data, traj_len: int | None, max_trajs: int | None) -> dict[str, np.ndarray]:
    """The step arrays of the dataset's first episodes, as many as `max_trajs` trajectories need (all if None)."""
    parts, pieces = [], 0
    for episode in data.iterate_episodes():
        if len(episode) == 0:
            continue
        parts.append(episode_rows(episode))
        pieces += -(-len(episode) // traj_len) if traj_len else 1
        if max_trajs and pieces >= max_trajs:
            break
    if not parts:
        raise UserError(f"the Minari dataset {data.id!r} holds no steps")
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def import_minari(dataset_id: str, short: str, traj_len: int | None = None, max_trajs: int | None = None,
                  overwrite: bool = False) -> ImportSummary:
    """Convert the local Minari dataset `dataset_id` into the SFP dataset `<short>_primitive.hdf5`."""
    for name, value in (("traj_len", traj_len), ("max_trajs", max_trajs)):
        if value is not None and value < 1:
            raise UserError(f"--{name} ({value}) must be at least 1")
    output = output_file(paths.check_import_name(short), overwrite)
    data = load_minari(dataset_id)
    arrays = read_episodes(data, traj_len, max_trajs)
    piece = traj_len or len(arrays["actions"])
    attrs = {"source": f"minari:{dataset_id}", "minari_episodes": data.total_episodes, "short": short,
             "traj_len": traj_len or 0, "whole_episodes": True}
    return write_import(arrays, output, piece, max_trajs or len(arrays["actions"]), True, attrs)
