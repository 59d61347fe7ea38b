"""Import a local D4RL locomotion file as the expert dataset of its body.

    python scripts/import_d4rl.py --file ~/Downloads/hopper-expert-v2.hdf5 [--body hopper] [--max_trajs 1000]
        [--traj_len 500] [--whole_episodes] [--overwrite]

writes $D4RL_DATASET_DIR/<body>_primitive.hdf5 (see sfp/data/d4rl_import.py).
"""

import argparse

from sfp.config import ArgumentParser
from sfp.data.d4rl_import import import_d4rl
from sfp.errors import exits_cleanly
from sfp.paths import LOCOMOTION_BODIES


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(
        description=__doc__.splitlines()[0], allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--file", required=True, help="a D4RL .hdf5 file, e.g. ~/Downloads/hopper-expert-v2.hdf5")
    parser.add_argument("--body", choices=LOCOMOTION_BODIES, help="locomotion body (default: from the file name)")
    parser.add_argument("--max_trajs", type=int, default=1000, help="number of trajectories to keep")
    parser.add_argument("--traj_len", type=int, default=500, help="maximum rows per trajectory")
    parser.add_argument(
        "--whole_episodes",
        action="store_true",
        help="cut every episode into pieces of traj_len rows (default: only its first traj_len rows)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset of the body")
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> None:
    args = parse_args(argv)
    summary = import_d4rl(
        args.file,
        body=args.body,
        max_trajs=args.max_trajs,
        traj_len=args.traj_len,
        whole_episodes=args.whole_episodes,
        overwrite=args.overwrite,
    )
    if summary.warning:
        print(summary.warning)
    print(summary)


if __name__ == "__main__":
    main()
