"""Verify the collected pieces of a suite and merge them into its dataset file.

    python scripts/distill_dataset.py --env point-maze|meta-world

reads $D4RL_DATASET_DIR/<short>_primitive/*.npz, writes $D4RL_DATASET_DIR/<short>_primitive.hdf5
(see sfp/data/distill.py and sfp/data/dataset.py for the format).
"""
import argparse

from sfp.data.distill import describe, distill
from sfp.errors import exits_cleanly
from sfp.paths import SUITES


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--env", required=True, choices=SUITES, help="suite to distill")
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> None:
    args = parse_args(argv)
    print(describe(distill(args.env), args.env))


if __name__ == "__main__":
    main()
