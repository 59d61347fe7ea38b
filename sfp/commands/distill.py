"""Verify the collected pieces of a suite and merge them into its dataset file.

    python scripts/distill_dataset.py --env point-maze|meta-world [--expert original|fixed] [--allow_partial]
    python scripts/distill_dataset.py --env <Gymnasium id> [--expert pointmaze|fetch|<module:callable>]
        [--name <data name>] [--allow_partial]

reads $D4RL_DATASET_DIR/<name>_primitive/*.npz, writes $D4RL_DATASET_DIR/<name>_primitive.hdf5, <name> being the
expert's data name: maze (original), maze-fixed, sawyer (see sfp/data/distill.py and sfp/data/dataset.py); for a
Gymnasium id, the data name its collect command used (the same --env, --expert and --name).
"""

import argparse

from sfp.commands.suite_options import suite_parser
from sfp.data.distill import describe, distill
from sfp.errors import exits_cleanly


def parse_args(argv=None) -> argparse.Namespace:
    parser = suite_parser(__doc__.splitlines()[0], "suite to distill")
    parser.add_argument(
        "--allow_partial",
        action="store_true",
        help="distill the trajectories present even when the collection holds fewer than its collect "
        "command asked for (killed or unfinished); the dataset is then smaller and the missing "
        "indices are listed. Without it such a collection is refused with the command that "
        "finishes it",
    )
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> None:
    args = parse_args(argv)
    summary = distill(args.env, expert=args.expert, allow_partial=args.allow_partial, name=args.name)
    print(describe(summary, args.env, args.expert, args.name))


if __name__ == "__main__":
    main()
