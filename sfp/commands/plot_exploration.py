"""Exploration maps of point-maze runs: visitation heat maps and coverage curves (sfp/experiments/exploration.py).

    python scripts/plot_exploration.py results/logs/maze__* --out results/maze --steps 10000 20000

reads each run's config.json and visitation.npz (run directories, or snapshots made by plot.py --snapshot) and
writes <out>_visits_<task>_<method>.png (visits per cell in the first STEPS steps, the largest of --steps, summed
over seeds, walls drawn), <out>_coverage.png (share of the maze's cells visited against steps, mean and 95 %
bootstrap band over seeds) and <out>_coverage.md (coverage after each of --steps, per task and method).

--out may name a directory (an existing one, or a name ending in '/'): the files are then <dir>/<grid>_coverage.md
and so on, as for plot.py. Every output place is checked before any work; files that exist are replaced, with a
note before the work starts.
"""

import argparse
from pathlib import Path

from sfp.commands.plot import OUT_HELP, prefixed, report_name
from sfp.config import ArgumentParser
from sfp.errors import UserError, exits_cleanly
from sfp.experiments.exploration import map_suffix, maze_runs, write_exploration
from sfp.paths import check_output_names, output_file, replacing_note


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("runs", nargs="+", type=Path, help="run or snapshot directories of point-maze runs")
    parser.add_argument("--out", required=True, help=OUT_HELP)
    parser.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=[20000],
        help="the table's step counts; the heat maps show the first STEPS steps, the largest",
    )
    args = parser.parse_args(argv)
    if min(args.steps) < 1:
        raise UserError(f"--steps {min(args.steps)} must be at least 1")
    out = output_file(args.out, "--out", report_name(args.runs))
    runs = maze_runs(args.runs)
    maps = sorted({map_suffix(run.task, run.method) for run in runs})
    files = prefixed(out, ["_coverage.png", "_coverage.md", *maps])
    check_output_names(files, "choose another --out")
    if note := replacing_note(files):
        print(f"note: {note}")
    for path in write_exploration(runs, out, args.steps):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
