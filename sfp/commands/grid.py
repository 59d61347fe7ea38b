"""Run a grid of experiments (methods × tasks × seeds) from a spec, N at a time, resumable.

    python scripts/run_experiments.py experiments/maze.yaml --parallel 2

Missing datasets and priors are made first. Finished runs are skipped and interrupted ones resumed, so the same
command continues a grid after Ctrl-C or a reboot. See sfp/experiments/grid.py for the spec format.
"""
import argparse

from sfp.errors import exits_cleanly
from sfp.experiments.grid import run_grid
from sfp.runtime import available_cores


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", help="YAML or JSON grid spec (experiments/*.yaml)")
    parser.add_argument("--parallel", type=int, default=available_cores(), help="runs at a time (one thread each)")
    parser.add_argument("--prepare_only", action="store_true", help="only make the missing datasets and priors")
    args = parser.parse_args(argv)
    run_grid(args.spec, args.parallel, args.prepare_only)


if __name__ == "__main__":
    main()
