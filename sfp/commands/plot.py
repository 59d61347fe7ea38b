"""Learning curves and a results table from run directories (see sfp/experiments/analysis.py for the statistics).

    python scripts/plot.py ~/logs/maze__* --out results/maze

Writes <out>_success.png, <out>_return.png and <out>_exploration.png (test success rate, test return and the
success rate of the training episodes against environment steps, one panel per task, mean over seeds with 95 %
bootstrap bands), <out>_prior_use.png (the share of training actions drawn from the prior, for the methods that
mix one in, such as SFP), <out>.md (per task and method: seeds, final and AUC
test success with bootstrap intervals; per method: IQM across tasks and seeds with stratified bootstrap
intervals) and <out>_curves.csv (every run's curve). --snapshot DIR copies each run's config.json and progress.txt
to DIR, so the figures can be made again from committed logs.
"""
import argparse
from pathlib import Path

from sfp.errors import exits_cleanly
from sfp.experiments.plots import write_report


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (e.g. ~/logs/maze__*)")
    parser.add_argument("--out", type=Path, required=True, help="output prefix, e.g. results/maze")
    parser.add_argument("--last", type=int, default=3, help="epochs averaged for the final score")
    parser.add_argument("--snapshot", type=Path, help="also copy each run's config.json and progress.txt here")
    args = parser.parse_args(argv)
    print(write_report(args.runs, args.out, args.last, args.snapshot))


if __name__ == "__main__":
    main()
