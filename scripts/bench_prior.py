"""Benchmark the prior: training samples/s, BatchNorm recompute time, single-action sampling latency.

python scripts/bench_prior.py [--rows 2000000] [--action_dim 2] [--n_step 1] [--threads 1]
"""

import argparse
import json

from sfp.benchmarks.prior import run_benchmarks
from sfp.errors import exits_cleanly
from sfp.runtime import set_threads


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000, help="training rows for the BatchNorm recompute")
    parser.add_argument("--action_dim", type=int, default=2, help="2 = point-maze, 4 = meta-world")
    parser.add_argument("--n_step", type=int, default=1, help="conditioning window")
    parser.add_argument("--batch_size", type=int, default=400, help="training batch (the original release's default)")
    parser.add_argument("--steps", type=int, default=100, help="timed training steps")
    parser.add_argument("--draws", type=int, default=2000, help="timed single-action samples")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (clamped to the cores available)")
    args = parser.parse_args()
    set_threads(args.threads)
    results = run_benchmarks(args.rows, args.action_dim, args.n_step, args.batch_size, args.steps, args.draws)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
