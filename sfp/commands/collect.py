"""Collect task-agnostic expert trajectories of a suite, one resumable piece file per trajectory.

    python scripts/collect_dataset.py --env point-maze|meta-world [--expert original|fixed] [--num_trajs 4000]
        [--traj_len 500] [--workers 1] [--images] [--seed 0]

writes $D4RL_DATASET_DIR/<name>_primitive/<name>_primitive_<index>.npz, <name> being the expert's data name: maze
(the original expert, the default), maze-fixed, sawyer (see sfp/data/collector.py and sfp/data/experts.py).
Run it again after an interruption (or several at once) to make only the missing trajectories; then distill.
"""

import argparse
import sys

from sfp.commands.suite_options import suite_parser
from sfp.data.collector import collect, describe
from sfp.errors import exits_cleanly


def parse_args(argv=None) -> argparse.Namespace:
    parser = suite_parser(__doc__.splitlines()[0], "suite of the expert")
    parser.add_argument("--num_trajs", type=int, default=4000, help="trajectories 0..num_trajs-1 to have")
    parser.add_argument("--traj_len", type=int, default=500, help="steps per trajectory (at most 500)")
    parser.add_argument("--workers", type=int, default=1, help="processes collecting in parallel")
    parser.add_argument("--images", action="store_true", help="also store a (3, 64, 64) uint8 frame per step")
    parser.add_argument("--seed", type=int, default=0, help="trajectory i is made from the seed pair (seed, i)")
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        summary = collect(
            args.env,
            num_trajs=args.num_trajs,
            traj_len=args.traj_len,
            workers=args.workers,
            images=args.images,
            seed=args.seed,
            expert=args.expert,
        )
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished trajectories are kept; run the same command again to make the rest",
            file=sys.stderr,
        )
        sys.exit(130)
    print(describe(summary, args.env, args.expert))


if __name__ == "__main__":
    main()
