"""Import a local D4RL locomotion file (e.g. hopper-expert-v2.hdf5) as `$D4RL_DATASET_DIR/<body>_primitive.hdf5`.

The D4RL file is split at its real episode boundaries (rows where `terminals | timeouts` is set) and cut into
trajectories by sfp.data.episodes. By default each episode contributes its first `traj_len` rows, as the original
release did (it kept rows [1000k, 1000k+500) and assumed every episode lasted 1000 steps); with `whole_episodes`
every episode is cut into consecutive pieces of at most `traj_len` rows. Goals are the D4RL next_observations (as
the original did); rewards are D4RL's.
"""

import re
from pathlib import Path

import h5py
import numpy as np

from sfp import paths
from sfp.data import dataset
from sfp.data.episodes import ImportSummary, output_file, write_import
from sfp.errors import UserError

D4RL_KEYS = ("observations", "actions", "next_observations", "rewards", "terminals", "timeouts")
DAMAGED = "the file is damaged or not a D4RL dataset: download it again (nothing was written)"
BODY_ALIASES = {body: body for body in paths.LOCOMOTION_BODIES} | {"walker2d": "walker"}


def infer_body(path: str | Path) -> str:
    """The locomotion body named in a D4RL file name: 'walker2d-medium-v2.hdf5' -> 'walker'."""
    words = re.split(r"[^a-z0-9]+", Path(path).name.lower())
    bodies = sorted({BODY_ALIASES[word] for word in words if word in BODY_ALIASES})
    if len(bodies) != 1:
        found = f"it names {', '.join(bodies)}" if bodies else "it names none of them"
        raise UserError(
            f"cannot tell the body from the file name {Path(path).name!r} ({found}): pass --body with "
            f"one of {', '.join(paths.LOCOMOTION_BODIES)}"
        )
    return bodies[0]


def existing_file(path: str | Path) -> Path:
    """`path` with ~ expanded; UserError when there is no such file."""
    path = Path(path).expanduser()
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise UserError(
            f"{path} {problem}: pass --file with the path of a downloaded D4RL .hdf5 "
            "(e.g. ~/Downloads/hopper-expert-v2.hdf5)"
        )
    return path


def read_d4rl(path: str | Path) -> dict[str, np.ndarray]:
    """The D4RL arrays of a local .hdf5: observations (N,S), actions (N,A), next_observations (N,S), rewards (N,),
    terminals (N,) bool, timeouts (N,) bool. Raises UserError for a missing, foreign or inconsistent file, and for
    arrays sfp.data.dataset.check_arrays refuses (non-float or non-finite values)."""
    path = existing_file(path)
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise UserError(f"{path} is not an HDF5 file: pass a D4RL dataset file (*.hdf5)") from None
    with handle:
        missing = [key for key in D4RL_KEYS if key not in handle]
        if missing:
            raise UserError(
                f"{path} lacks the D4RL keys {missing}: pass a D4RL locomotion file such as hopper-expert-v2.hdf5"
            )
        arrays = {key: handle[key][()] for key in D4RL_KEYS}
    _check_shapes(path, arrays)
    dataset.check_arrays(path, {**arrays, "goals": arrays["next_observations"]}, DAMAGED)
    arrays["terminals"] = arrays["terminals"].astype(bool)
    arrays["timeouts"] = arrays["timeouts"].astype(bool)
    return arrays


def _check_shapes(path: Path, arrays: dict[str, np.ndarray]) -> None:
    lengths = {key: len(value) for key, value in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise UserError(f"{path} is inconsistent: row counts {lengths}; download the file again")
    if lengths["actions"] == 0:
        raise UserError(f"{path} holds no rows; download the file again")
    ranks = {key: arrays[key].ndim for key in D4RL_KEYS}
    expected = {key: 2 if key in ("observations", "actions", "next_observations") else 1 for key in D4RL_KEYS}
    if ranks != expected or arrays["observations"].shape != arrays["next_observations"].shape:
        shapes = {key: arrays[key].shape for key in D4RL_KEYS}
        raise UserError(f"{path} has unexpected array shapes {shapes}; it is not a D4RL locomotion file")


def check_against_env(path: Path, body: str, obs_dim: int, action_dim: int) -> str | None:
    """A warning when the file's observations do not match the body's environment; UserError for the actions."""
    from sfp.envs.locomotion import LocomotionEnv

    env = LocomotionEnv(body)
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    assert obs_shape is not None and act_shape is not None  # Box spaces
    env_obs, env_act = obs_shape[0], act_shape[0]
    env.close()
    if action_dim != env_act:
        raise UserError(
            f"{path}: actions have {action_dim} dimensions but {body} has {env_act}: pass the right "
            "--body for this file"
        )
    if obs_dim != env_obs:
        return (
            f"warning: the file's observations have {obs_dim} dimensions but {env.gymnasium_id} has {env_obs}; "
            "action-conditioned priors are unaffected, state-conditioned priors will not fit this environment"
        )
    return None


def import_d4rl(
    file: str | Path,
    body: str | None = None,
    max_trajs: int = 1000,
    traj_len: int = 500,
    whole_episodes: bool = False,
    overwrite: bool = False,
) -> ImportSummary:
    """Convert a local D4RL file into the dataset of `body` (inferred from the file name when None)."""
    if max_trajs < 1 or traj_len < 1:
        raise UserError(f"--max_trajs ({max_trajs}) and --traj_len ({traj_len}) must be at least 1")
    file = existing_file(file)
    body = body or infer_body(file)
    if body not in paths.LOCOMOTION_BODIES:
        raise UserError(f"unknown body {body!r}: use one of {', '.join(paths.LOCOMOTION_BODIES)}")
    output = output_file(body, overwrite)
    arrays = read_d4rl(file)
    warning = check_against_env(file, body, arrays["observations"].shape[1], arrays["actions"].shape[1])
    attrs = {
        "source": str(file.resolve()),
        "source_md5": paths.file_md5(file),
        "body": body,
        "traj_len": traj_len,
        "whole_episodes": whole_episodes,
    }
    return write_import(
        {**arrays, "goals": arrays["next_observations"]}, output, traj_len, max_trajs, whole_episodes, attrs, warning
    )
