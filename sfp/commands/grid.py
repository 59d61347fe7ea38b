"""Run a grid of experiments (methods × tasks × seeds) from a spec, resumable, here or on a cluster.

    python scripts/run_experiments.py experiments/maze_corridor.yaml --parallel 2
    python scripts/run_experiments.py experiments/maze_corridor.yaml --launcher ray --address head-node:6379
    python scripts/run_experiments.py experiments/maze_corridor.yaml --launcher slurm --slurm_partition cpu \\
        --slurm_time 240
    python scripts/run_experiments.py experiments/maze_tuned_corridor.yaml experiments/maze_tuned_maze.yaml --parallel 1
    python scripts/run_experiments.py experiments/maze_tuned_corridor.yaml --status   # where it stands

Several specs run one after the other (a lane: with --parallel 1, two such commands keep two cores busy; a run
that the other lane is running is skipped after a few tries, as the run lock holds it).

Missing datasets and priors are made first, here. Finished runs are skipped and interrupted ones resumed, so the
same command continues a grid after Ctrl-C, a kill or a reboot. Exit status: 0 when every run finished, 1 when
some did not, 130/143 after Ctrl-C/SIGTERM (the runs save first). See sfp/experiments/grid.py for the spec format
and sfp/experiments/launchers.py for the launchers.
"""

import argparse
import sys

from sfp import paths
from sfp.config import ArgumentParser
from sfp.errors import UserError, exits_cleanly
from sfp.experiments import launchers
from sfp.experiments.grid_status import status_lines
from sfp.runtime import available_cores


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", nargs="+", help="YAML or JSON grid specs (experiments/*.yaml), run in this order")
    parser.add_argument(
        "--launcher",
        choices=("local", "ray", "slurm"),
        default="local",
        help="local subprocesses (default), Ray tasks, or Slurm jobs through submitit",
    )
    parser.add_argument(
        "--parallel", type=int, default=available_cores(), help="local: runs at a time (one thread each)"
    )
    parser.add_argument(
        "--address",
        default=None,
        help="ray: the cluster's address (default $RAY_ADDRESS; neither: a local Ray instance)",
    )
    parser.add_argument("--slurm_partition", default=None, help="slurm: partition (default: the cluster's)")
    parser.add_argument("--slurm_time", type=int, default=60, help="slurm: minutes per job (it is requeued after)")
    parser.add_argument("--slurm_cpus", type=int, default=1, help="slurm: CPUs per job")
    parser.add_argument("--slurm_gpus", type=int, default=0, help="slurm: GPUs per job")
    parser.add_argument("--slurm_mem", type=float, default=None, help="slurm: memory per job in GB")
    parser.add_argument(
        "--slurm_folder",
        default=None,
        help="slurm: submitit's job files and logs (default <SFP_LOG_DIR>/<grid name>.submitit)",
    )
    parser.add_argument("--poll_seconds", type=float, default=10.0, help="seconds between progress checks")
    parser.add_argument("--prepare_only", action="store_true", help="only make the missing datasets and priors")
    parser.add_argument(
        "--status",
        action="store_true",
        help="only print where each grid stands (its runs, the run-hours spent and left); starts and writes nothing",
    )
    args = parser.parse_args(argv)
    if args.parallel < 1:
        raise UserError(f"--parallel {args.parallel}: at least one run must go at a time")
    if not 0 < args.poll_seconds < float("inf"):
        raise UserError(f"--poll_seconds {args.poll_seconds}: must be a positive number of seconds")
    for flag in ("slurm_time", "slurm_cpus"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag} {getattr(args, flag)}: must be at least 1")
    if args.slurm_gpus < 0 or (args.slurm_mem is not None and not args.slurm_mem > 0):
        raise UserError("--slurm_gpus must be 0 or more and --slurm_mem a positive number of GB")
    launchers.require_launcher(args.launcher)

    def backend(spec: dict):
        if args.launcher == "ray":
            return launchers.RayBackend(args.address)
        if args.launcher == "slurm":
            folder = args.slurm_folder or paths.log_dir(create=True) / f"{spec['name']}.submitit"
            return launchers.SubmititBackend(
                launchers.slurm_executor(
                    folder,
                    "slurm",
                    args.slurm_partition,
                    args.slurm_time,
                    args.slurm_cpus,
                    args.slurm_gpus,
                    args.slurm_mem,
                )
            )
        return launchers.LocalBackend(args.parallel)

    for spec in args.spec:  # every spec is checked before the first one runs
        launchers.grid(launchers.load_spec(spec))
    if args.status:
        print("\n\n".join("\n".join(status_lines(spec)) for spec in args.spec))
        return
    statuses = []
    for spec in args.spec:
        statuses.append(launchers.run_grid(spec, backend, args.prepare_only, poll_seconds=args.poll_seconds))
        if statuses[-1] in launchers.SIGNAL_EXITS.values():  # Ctrl-C / SIGTERM: the runs saved; stop here
            sys.exit(statuses[-1])
    sys.exit(max(statuses))


if __name__ == "__main__":
    main()
