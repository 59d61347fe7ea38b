"""sfp-data-statistics: how persistent a dataset's actions are (the numbers docs/data.md reports for every expert).

    python scripts/data_statistics.py <data name> [--max_trajs N]    e.g. pointmaze, fetch, maze, maze-fixed, sawyer

The statistics are defined in sfp/data/statistics.py."""

import argparse

from sfp.config import ArgumentParser
from sfp.data import dataset
from sfp.data.statistics import action_statistics, describe_statistics
from sfp.errors import exits_cleanly


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="data name of a dataset in $D4RL_DATASET_DIR (<name>_primitive.hdf5)")
    parser.add_argument("--max_trajs", type=int, default=None, help="only the first N trajectories")
    args = parser.parse_args(argv)
    if args.max_trajs is not None and args.max_trajs < 1:
        parser.error(f"--max_trajs {args.max_trajs} must be at least 1")
    data = dataset.load_dataset(args.name)
    bounds = data.bounds if args.max_trajs is None else data.bounds[: args.max_trajs + 1]
    print(f"{data.path}: {len(bounds) - 1} trajectories, {int(bounds[-1]):,} rows")
    print(describe_statistics(action_statistics(data, args.max_trajs)))


if __name__ == "__main__":
    main()
