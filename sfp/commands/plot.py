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

--out may name a directory (an existing one, or a name ending in '/'): the files are then <dir>/<grid>_success.png
and so on (<grid>: the grid's name when all runs are of one grid, else 'results'). Every output place is checked
before any work; files that exist are replaced, with a note before the work starts.
"""

import argparse
import os
from pathlib import Path

from sfp.config import ArgumentParser
from sfp.errors import UserError, exits_cleanly
from sfp.experiments.plots import write_report
from sfp.paths import check_output_names, check_writable, output_file, replacing_note
from sfp.provenance import PROVENANCE_FILE
from sfp.rl.logger import CONFIG_FILE, PROGRESS_FILE
from sfp.rl.visitation import VISITATION_FILE

OUTPUTS = (
    "_success.png",
    "_return.png",
    "_exploration.png",
    "_prior_use.png",
    "_profiles.png",
    ".md",
    "_curves.csv",
)  # what write_report may write under the prefix
SNAPSHOT_FILES = (CONFIG_FILE, PROGRESS_FILE, PROVENANCE_FILE, VISITATION_FILE)  # what snapshot_logs copies
OUT_HELP = (
    "output prefix, e.g. results/maze; a directory (existing, or a name ending in '/') means <grid> in it; "
    "existing files are replaced, with a note"
)


def report_name(runs: list[Path]) -> str:
    """The prefix used inside an --out directory: the grid's name when every run is one of the same grid's
    (<grid>__<task>__<method>_s<seed>), else 'results'."""
    names = [os.path.basename(os.path.abspath(run)) for run in runs]
    grids = {name.split("__")[0] for name in names}
    return grids.pop() if len(grids) == 1 and all("__" in name for name in names) else "results"


def prefixed(prefix: Path, suffixes) -> list[Path]:
    return [prefix.with_name(prefix.name + suffix) for suffix in suffixes]


def snapshot_files(snapshot: Path, runs: list[Path]) -> list[Path]:
    """The files --snapshot may write for `runs`, checked like every output (see snapshot_logs)."""
    if os.path.lexists(snapshot) and not snapshot.is_dir():
        raise UserError(f"--snapshot {snapshot} is a file, not a directory; choose another --snapshot")
    check_writable(snapshot, "choose another --snapshot")
    folders = [snapshot / os.path.basename(os.path.abspath(run)) for run in runs]
    for folder in folders:
        if os.path.lexists(folder) and not folder.is_dir():
            raise UserError(f"--snapshot: {folder} is a file, where a run's folder would be; choose another --snapshot")
    files = [folder / name for folder in folders for name in SNAPSHOT_FILES]
    check_output_names(files, "choose another --snapshot")
    return files


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (e.g. ~/logs/maze__*)")
    parser.add_argument("--out", required=True, help=OUT_HELP)
    parser.add_argument("--last", type=int, default=3, help="epochs averaged for the final score")
    parser.add_argument(
        "--snapshot",
        type=Path,
        help="also copy each run's config.json and progress.txt to <SNAPSHOT>/<run>/ (existing "
        "copies are replaced, with a note)",
    )
    args = parser.parse_args(argv)
    if args.last < 1:
        raise UserError(f"--last {args.last}: the final score averages at least one epoch")
    out = output_file(args.out, "--out", report_name(args.runs))
    files = prefixed(out, OUTPUTS)
    check_output_names(files, "choose another --out")
    if args.snapshot is not None:
        files += snapshot_files(args.snapshot, args.runs)
    if note := replacing_note(files):
        print(f"note: {note}")
    print(write_report(args.runs, out, args.last, args.snapshot))


if __name__ == "__main__":
    main()
