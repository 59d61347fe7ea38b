"""Import a Minari dataset that is already on this machine as `$D4RL_DATASET_DIR/<short>_primitive.hdf5`.

The dataset is read with `minari.load_dataset(id)` from Minari's local root ($MINARI_DATASETS_PATH, default
~/.minari/datasets); nothing is downloaded (`minari download <id>` fetches one). Each Minari episode holds T steps
and T + 1 observations; its steps become rows, and a trajectory ends where Minari's terminations or truncations
are set (the last step of an episode always ends one). Goals follow the D4RL import: the next observation. For
dict observations with a `desired_goal` (goal-conditioned data such as a point maze's), the rows take
`observation` as the state and `desired_goal` at the step as the goal: that is the target the data's policy was
heading for, which is what this project's own datasets store. Without `traj_len` every episode is one trajectory;
with it every episode is cut into pieces of at most `traj_len` rows (sfp.data.episodes). `max_trajs` keeps the
first trajectories, and only the episodes they need are read. The rows are checked (sfp.data.dataset.check_arrays:
float, finite, consistent) before anything is written.
"""

from pathlib import Path

import numpy as np

from sfp import paths
from sfp.data import dataset
from sfp.data.episodes import ImportSummary, output_file, write_import
from sfp.errors import UserError, one_line


def load_minari(dataset_id: str):
    """The local Minari dataset `dataset_id`; UserError naming the download command when it is not there or its
    folder is damaged."""
    import minari

    try:
        return minari.load_dataset(dataset_id)
    except FileNotFoundError:
        root = Path(minari.storage.get_dataset_path())
        raise UserError(
            f"no Minari dataset {dataset_id!r} in {root}: fetch it with `minari download {dataset_id}` "
            "(or point MINARI_DATASETS_PATH at the folder that holds it)"
        ) from None
    except Exception as err:  # Minari raises many kinds for a damaged folder (bad JSON, missing files or keys)
        raise damaged(dataset_id, err) from None


def damaged(dataset_id: str, err: Exception) -> UserError:
    """The one-line error of a local Minari dataset that cannot be read."""
    import minari

    folder = Path(minari.storage.get_dataset_path(dataset_id))
    return UserError(
        f"{folder}: the Minari dataset {dataset_id!r} is damaged ({type(err).__name__}: "
        f"{one_line(err)[:160]}); delete that folder and fetch it again with `minari download "
        f"{dataset_id}` (nothing was written)"
    )


def episode_rows(episode) -> dict[str, np.ndarray]:
    """The step arrays (sfp.data.episodes) of one Minari episode of T steps: observations (T, S), actions (T, A),
    goals (T, G), rewards (T,), terminals (T,), timeouts (T,) with the last row always an end."""
    observations = episode.observations
    if isinstance(observations, dict):
        if "observation" not in observations or "desired_goal" not in observations:
            raise UserError(
                f"the episodes' observations are a dict of {sorted(observations)}; only vector "
                "observations or dicts with 'observation' and 'desired_goal' can be imported"
            )
        states, goals = observations["observation"][:-1], observations["desired_goal"][:-1]
    else:
        states, goals = observations[:-1], observations[1:]
    actions = np.asarray(episode.actions)
    if states.ndim != 2 or goals.ndim != 2 or actions.ndim != 2:
        raise UserError(
            f"observations {states.shape[1:]} and actions {actions.shape[1:]} per step: only flat "
            "vectors can be imported (no images, no discrete actions)"
        )
    terminals = np.asarray(episode.terminations, bool).copy()
    timeouts = np.asarray(episode.truncations, bool).copy()
    timeouts[-1] |= not terminals[-1]
    return {
        "observations": states,
        "actions": actions,
        "goals": goals,
        "rewards": np.asarray(episode.rewards, np.float32),
        "terminals": terminals,
        "timeouts": timeouts,
    }


def read_episodes(data, traj_len: int | None, max_trajs: int | None) -> dict[str, np.ndarray]:
    """The checked step arrays of the dataset's first episodes, as many as `max_trajs` trajectories need (all if
    None)."""
    parts, pieces = [], 0
    try:
        for episode in data.iterate_episodes():
            if len(episode) == 0:
                continue
            parts.append(episode_rows(episode))
            pieces += -(-len(episode) // traj_len) if traj_len else 1
            if max_trajs and pieces >= max_trajs:
                break
        if not parts:
            raise UserError(f"the Minari dataset {data.id!r} holds no steps")
        arrays = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    except UserError:
        raise
    except Exception as err:  # a damaged episode file fails in Minari's or h5py's code
        raise damaged(data.id, err) from None
    fix = f"it cannot be imported; delete it and fetch it again with `minari download {data.id}` (nothing was written)"
    dataset.check_arrays(f"the Minari dataset {data.id!r}", arrays, fix)
    return arrays


def import_minari(
    dataset_id: str, short: str, traj_len: int | None = None, max_trajs: int | None = None, overwrite: bool = False
) -> ImportSummary:
    """Convert the local Minari dataset `dataset_id` into the SFP dataset `<short>_primitive.hdf5`."""
    for name, value in (("traj_len", traj_len), ("max_trajs", max_trajs)):
        if value is not None and value < 1:
            raise UserError(f"--{name} ({value}) must be at least 1")
    output = output_file(paths.check_import_name(short), overwrite)
    data = load_minari(dataset_id)
    arrays = read_episodes(data, traj_len, max_trajs)
    width, wanted = arrays["actions"].shape[1], dataset.ACTION_DIMS.get(short)
    if wanted is not None and width != wanted:
        raise UserError(
            f"the Minari dataset {dataset_id!r} has {width} entries per action but {short}'s actions have "
            f"{wanted}: import it under another --short (nothing was written)"
        )
    piece = traj_len or len(arrays["actions"])
    attrs = {
        "source": f"minari:{dataset_id}",
        "minari_episodes": data.total_episodes,
        "short": short,
        "traj_len": traj_len or 0,
        "whole_episodes": True,
    }
    return write_import(arrays, output, piece, max_trajs or len(arrays["actions"]), True, attrs)
