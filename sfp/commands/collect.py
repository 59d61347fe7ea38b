"""Collect task-agnostic expert trajectories of a suite, one resumable piece file per trajectory.

    python scripts/collect_dataset.py --env point-maze|meta-world [--expert original|fixed] [--num_trajs 4000]
        [--traj_len 500] [--workers 1] [--images] [--seed 0]
    python scripts/collect_dataset.py --env <Gymnasium id> [--expert pointmaze|fetch|<module:callable>]
        [--name <data name>] [--env_kwargs JSON] [--traj_len <episode length>] [--num_trajs 4000] [--workers 1]

writes $D4RL_DATASET_DIR/<name>_primitive/<name>_primitive_<index>.npz, <name> being the expert's data name: maze
(the original expert, the default), maze-fixed, sawyer (see sfp/data/collector.py and sfp/data/experts.py); for a
Gymnasium id, pointmaze or fetch (the built-in experts of PointMaze_Open* and Fetch*, sfp/data/gym_experts.py) or
the --name of your own expert (by default its callable's name; sfp/data/gym_collection.py, docs/data.md).
Run it again after an interruption (or several at once) to make only the missing trajectories; then distill.
"""

import argparse
import sys

from sfp.commands.suite_options import suite_parser
from sfp.data.collector import MAX_TRAJ_LEN, collect, collect_gym, describe
from sfp.errors import UserError, exits_cleanly
from sfp.paths import SUITES


def parse_args(argv=None) -> argparse.Namespace:
    parser = suite_parser(__doc__.splitlines()[0], "suite of the expert")
    parser.add_argument("--num_trajs", type=int, default=4000, help="trajectories 0..num_trajs-1 to have")
    parser.add_argument(
        "--traj_len",
        type=int,
        default=None,
        help=f"steps per trajectory (at most {MAX_TRAJ_LEN}); default {MAX_TRAJ_LEN} for a suite, the episode "
        "length for a Gymnasium id",
    )
    parser.add_argument("--workers", type=int, default=1, help="processes collecting in parallel")
    parser.add_argument("--images", action="store_true", help="also store a (3, 64, 64) uint8 frame per step")
    parser.add_argument("--seed", type=int, default=0, help="trajectory i is made from the seed pair (seed, i)")
    parser.add_argument(
        "--env_kwargs",
        default="",
        help='Gymnasium ids only: a JSON object of keyword arguments for gymnasium.make, e.g. \'{"max_episode_steps": '
        "400}'",
    )
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> None:
    args = parse_args(argv)
    gym = args.env not in SUITES
    if not gym and (args.env_kwargs or args.name):
        raise UserError(f"--env_kwargs and --name are for Gymnasium ids; {args.env} takes neither")
    try:
        if gym:
            from sfp.envs.gym_task import parse_env_kwargs

            summary = collect_gym(
                args.env,
                args.expert,
                num_trajs=args.num_trajs,
                traj_len=args.traj_len,
                workers=args.workers,
                seed=args.seed,
                env_kwargs=parse_env_kwargs(args.env_kwargs),
                name=args.name,
                images=args.images,
            )
        else:
            summary = collect(
                args.env,
                num_trajs=args.num_trajs,
                traj_len=MAX_TRAJ_LEN if args.traj_len is None else args.traj_len,
                workers=args.workers,
                images=args.images,
                seed=args.seed,
                expert=args.expert or "original",
            )
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished trajectories are kept; run the same command again to make the rest",
            file=sys.stderr,
        )
        sys.exit(130)
    print(describe(summary, args.env, args.expert, args.name))


if __name__ == "__main__":
    main()
