"""Import a Minari dataset that is already on this machine as an SFP expert dataset.

    python scripts/import_minari.py --dataset <minari id> --short <name> [--traj_len N] [--max_trajs N] [--overwrite]

writes $D4RL_DATASET_DIR/<name>_primitive.hdf5 (see sfp/data/minari_import.py); `python flows/train.py --env <name>`
then trains a prior on it. Nothing is downloaded: fetch a dataset first with `minari download <id>`.
"""

import argparse

from sfp.config import ArgumentParser
from sfp.data.minari_import import import_minari
from sfp.errors import exits_cleanly


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(
        description=__doc__.splitlines()[0], allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--dataset", required=True, help="Minari dataset id, e.g. D4RL/pointmaze/umaze-v2")
    parser.add_argument(
        "--short",
        required=True,
        help="name of the SFP dataset: lower-case words joined by '_', or a body such as hopper",
    )
    parser.add_argument(
        "--traj_len", type=int, help="cut every episode into pieces of at most this many rows (default: whole episodes)"
    )
    parser.add_argument("--max_trajs", type=int, help="keep only the first trajectories (default: all)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset of that name")
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> None:
    args = parse_args(argv)
    print(
        import_minari(
            args.dataset, args.short, traj_len=args.traj_len, max_trajs=args.max_trajs, overwrite=args.overwrite
        )
    )


if __name__ == "__main__":
    main()
