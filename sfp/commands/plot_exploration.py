"""Exploration maps of point-maze runs: visitation heat maps and coverage curves (sfp/experiments/exploration.py).

    python scripts/plot_exploration.py results/maze_runs/* --out results/maze --steps 10000 20000

reads each run's config.json and visitation.npz (run directories, or snapshots made by plot.py --snapshot) and
writes <out>_visits_<task>_<method>.png (visits per cell in the first STEPS steps, the largest of --steps, summed
over seeds, walls drawn), <out>_coverage.png (share of the maze's cells visited against steps, mean and 95 %
bootstrap band over seeds) and <out>_coverage.md (coverage after each of --steps, per task and method).
"""
import argparse
from pathlib import Path

from sfp.config import ArgumentParser
from sfp.errors import UserError, exits_cleanly
from sfp.experiments.exploration import write_exploration


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                            allow_abbrev=False)
    parser.add_argument("runs", nargs="+", type=Path, help="run or snapshot directories of point-maze runs")
    parser.add_argument("--out", type=Path, required=True, help="output prefix, e.g. results/maze")
    parser.add_argument("--steps", type=int, nargs="+", default=[20000],
                        help="the table's step counts; the heat maps show the first STEPS steps, the largest")
    args = parser.parse_args(argv)
    if args.out.name in ("", ".", ".."):
        raise UserError(f"--out {args.out} is a directory; give a file prefix such as results/maze")
    if min(args.steps) < 1:
        raise UserError(f"--steps {min(args.steps)} must be at least 1")
    for path in write_exploration(args.runs, args.out, args.steps):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
