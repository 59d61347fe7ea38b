"""Learning curves, results tables and rliable statistics from run directories (see sfp/experiments/analysis.py).

    python scripts/plot.py ~/logs/maze__* --out results/maze

Writes <out>_success.png, <out>_return.png and <out>_exploration.png (test success rate, test return and the
success rate of the training episodes against environment steps, one panel per task, mean over seeds with 95 %
bootstrap bands), <out>_prior_use.png (the share of training actions drawn from the prior, for the methods that
mix one in, such as SFP), <out>_profiles.png (rliable performance profiles of the final and AUC test success),
<out>.md (per task and method: seeds, final and AUC test success with bootstrap intervals; per method, across
tasks and seeds: IQM, mean and optimality gap with stratified bootstrap intervals; the probability of improvement
of every method over every other) and <out>_curves.csv (every run's curve). Every interval comes from rliable with
a fixed seed, so the same logs give the same tables. --snapshot DIR copies each run's config.json and progress.txt
to DIR, so the figures can be made again from committed logs.
"""
import argparse
from pathlib import Path

from sfp.config import ArgumentParser
from sfp.errors import UserError, exits_cleanly
from sfp.experiments.plots import write_report


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (e.g. ~/logs/maze__*)")
    parser.add_argument("--out", type=Path, required=True, help="output prefix, e.g. results/maze")
    parser.add_argument("--last", type=int, default=3, help="epochs averaged for the final score")
    parser.add_argument("--snapshot", type=Path, help="also copy each run's config.json and progress.txt here")
    args = parser.parse_args(argv)
    if args.out.name in ("", ".", ".."):
        raise UserError(f"--out {args.out} is a directory; give a file prefix such as results/maze")
    if args.last < 1:
        raise UserError(f"--last {args.last}: the final score averages at least one epoch")
    print(write_report(args.runs, args.out, args.last, args.snapshot))


if __name__ == "__main__":
    main()
