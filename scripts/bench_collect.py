"""Benchmark data collection against the bare environments, per suite, on this machine.

    python scripts/bench_collect.py [--maze_trajs 400] [--sawyer_trajs 20] [--traj_len 500]

For each suite: env.step steps/s of the bare environment replaying the collected actions (same reset seeds, no
images, nothing else in the loop); the per-worker steps/s of collection with 1 worker (rollout + expert + piece
writing, environment construction excluded) and its ratio to the bare rate; the wall-clock steps/s with 1 and 2
workers (process start-up included) and the speed-up. Pieces go to a temporary folder that is deleted afterwards.
"""

import argparse

from sfp.benchmarks.collection import bench_suite
from sfp.errors import exits_cleanly


@exits_cleanly
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--maze_trajs", type=int, default=400, help="point-maze trajectories per measurement")
    parser.add_argument("--sawyer_trajs", type=int, default=20, help="meta-world trajectories per measurement")
    parser.add_argument("--traj_len", type=int, default=500, help="steps per trajectory")
    args = parser.parse_args(argv)
    header = (
        f"{'suite':<11} {'bare steps/s':>12} {'1 worker':>10} {'ratio':>6} {'wall 1w':>10} "
        f"{'wall 2w':>10} {'speed-up':>8}"
    )
    rows = []
    for suite, num_trajs in (("point-maze", args.maze_trajs), ("meta-world", args.sawyer_trajs)):
        r = bench_suite(suite, num_trajs, args.traj_len)
        rows.append(
            f"{suite:<11} {r['bare']:>12,.0f} {r['worker']:>10,.0f} {r['worker'] / r['bare']:>6.2f} "
            f"{r['wall1']:>10,.0f} {r['wall2']:>10,.0f} {r['wall2'] / r['wall1']:>8.2f}"
        )
    print("\n".join([header, *rows]))
    print("ratio = collection steps/s of one worker / bare env.step steps/s (target >= 0.8)")


if __name__ == "__main__":
    main()
