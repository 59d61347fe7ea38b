"""Recorded episodes -> the trajectories of an SFP dataset: the part the D4RL and Minari imports share.

An import first brings its source into flat step arrays (D4RL's layout): observations (N, S), actions (N, A),
goals (N, G), rewards (N,), terminals (N,) bool and timeouts (N,) bool, where an episode ends at every row with
`terminals | timeouts` set (a trailing unfinished episode counts too). Each episode then gives its first
`traj_len` rows, or (`whole_episodes`) all its rows in consecutive pieces of at most `traj_len`; the first
`max_trajs` pieces, in order, are written. A piece ends with `terminals` when its episode really terminated
there, else with `timeouts`.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sfp import paths
from sfp.data import dataset
from sfp.errors import UserError


@dataclass
class ImportSummary:
    """What an import wrote; str() is the one-line summary the import commands print."""

    episodes: int
    trajectories: int
    rows: int
    output: Path
    warning: str | None = None

    def __str__(self) -> str:
        return (
            f"imported {self.trajectories} trajectories ({self.rows} rows) from {self.episodes} episodes "
            f"into {self.output}"
        )


def output_file(short: str, overwrite: bool) -> Path:
    """The dataset file an import of `short` writes; UserError when it exists and `overwrite` is off."""
    output = paths.dataset_file(short)
    if output.exists() and not overwrite:
        raise UserError(f"{output} already exists: pass --overwrite to replace it")
    return output


def trajectory_pieces(
    terminals: np.ndarray, timeouts: np.ndarray, traj_len: int, max_trajs: int, whole_episodes: bool = False
) -> tuple[np.ndarray, np.ndarray, int]:
    """Row ranges of the trajectories to keep: starts (T,), ends (T,) (exclusive), and the number of episodes
    they come from. Each episode gives its first `traj_len` rows, or all its rows in pieces of `traj_len`."""
    bounds = dataset.episode_bounds(terminals, timeouts)
    firsts, stops = bounds[:-1], bounds[1:]
    pieces_per_episode = -(-(stops - firsts) // traj_len) if whole_episodes else np.ones(len(firsts), np.int64)
    episode = np.repeat(np.arange(len(firsts)), pieces_per_episode)[:max_trajs]
    rank_in_episode = (
        np.arange(len(episode))
        - np.repeat(np.cumsum(pieces_per_episode) - pieces_per_episode, pieces_per_episode)[:max_trajs]
    )
    starts = firsts[episode] + rank_in_episode * traj_len
    ends = np.minimum(starts + traj_len, stops[episode])
    return starts, ends, int(episode[-1]) + 1


def cut_trajectories(arrays: dict[str, np.ndarray], starts: np.ndarray, ends: np.ndarray) -> dict[str, np.ndarray]:
    """SFP dataset arrays (see sfp.data.dataset) of the row ranges [starts[i], ends[i]) of the step `arrays`."""
    lengths = ends - starts
    last = np.cumsum(lengths) - 1
    rows = np.arange(last[-1] + 1) + np.repeat(starts - (last + 1 - lengths), lengths)
    terminated = arrays["terminals"][ends - 1]
    terminals = np.zeros(len(rows), bool)
    timeouts = np.zeros(len(rows), bool)
    terminals[last[terminated]] = True
    timeouts[last[~terminated]] = True
    return {
        "observations": arrays["observations"][rows],
        "actions": arrays["actions"][rows],
        "goals": arrays["goals"][rows],
        "rewards": arrays["rewards"][rows],
        "terminals": terminals,
        "timeouts": timeouts,
    }


def write_import(
    arrays: dict[str, np.ndarray],
    output: Path,
    traj_len: int,
    max_trajs: int,
    whole_episodes: bool,
    attrs: dict,
    warning: str | None = None,
) -> ImportSummary:
    """Cut the step `arrays` into trajectories and write them as the dataset `output` with the file `attrs`."""
    starts, ends, episodes = trajectory_pieces(
        arrays["terminals"], arrays["timeouts"], traj_len, max_trajs, whole_episodes
    )
    converted = cut_trajectories(arrays, starts, ends)
    paths.dataset_dir(create=True)
    dataset.write_dataset(output, converted, attrs=attrs)
    return ImportSummary(episodes, len(starts), len(converted["actions"]), output, warning)
