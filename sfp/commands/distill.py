"""Verify the collected pieces of a suite and merge them into its dataset file.

    python scripts/distill_dataset.py --env point-maze|meta-world [--expert original|fixed]

reads $D4RL_DATASET_DIR/<name>_primitive/*.npz, writes $D4RL_DATASET_DIR/<name>_primitive.hdf5, <name> being the
expert's data name: maze (original), maze-fixed, sawyer (see sfp/data/distill.py and sfp/data/dataset.py).
"""
import argparse

from sfp.data.distill import describe, distill
from sfp.config import ArgumentParser
from sfp.errors import exits_cleanly
from sfp.paths import DEFAULT_EXPERT, EXPERTS, SUITES


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False,
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--env", required=True, choices=SUITES, help="suite to distill")
    parser.add_argument("--expert", choices=EXPERTS, default=DEFAULT_EXPERT,
                        help="point-maze only: original (the paper's data) or fixed (its frame mismatch fixed)")
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> None:
    args = parse_args(argv)
    print(describe(distill(args.env, expert=args.expert), args.env, args.expert))


if __name__ == "__main__":
    main()
