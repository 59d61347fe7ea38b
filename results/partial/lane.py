"""Session plumbing of the unfinished evidence grids (removed with the rest of results/partial once they are
complete): one lane of work on one core, against the session's deadline.

A session lasts a few hours and its machine may be replaced after it: a prior training can be carried to the next
machine (snapshot.sh --carry), an RL run in progress cannot. So a lane works through its queue in order and runs
a grid cell only when it can finish before the deadline (its minutes, scaled by the epochs still to run), and
skips a cell that is finished, that another process holds or whose prior is not trained yet; a prior line trains
that prior wherever it stands in the queue and may run past the deadline. A deadline already past is an error.
Each cell runs through scripts/run_experiments.py of the grid's worktree (~/sfp-grid) on a spec that is the grid's
own with one task, one method and one seed, so its run name, arguments and directory are those of the full grid,
which later skips it.

usage (from results/partial/lanes.sh):  python lane.py HH:MM QUEUE
queue lines:  run <spec> <task> <method> <seed> <minutes>     a grid cell, ~<minutes> on one core from scratch
              prior <spec> <method>                          make that method's missing data and prior
"""
import datetime as dt
import subprocess
import sys
from pathlib import Path

import yaml

from sfp.experiments.grid import grid, last_epoch, preparation_commands
from sfp.run_lock import LOCK_FILE, holder_of

GRID = Path.home() / "sfp-grid"
SPECS = Path("/tmp/sfp-lane-specs")


def say(text: str) -> None:
    print(f"[lane {dt.datetime.now():%H:%M}] {text}", flush=True)


def run_grid(spec: dict, name: str, *flags: str) -> None:
    SPECS.mkdir(exist_ok=True)
    path = SPECS / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    subprocess.run([sys.executable, "scripts/run_experiments.py", str(path), "--parallel", "1", *flags], cwd=GRID)


def main(deadline_text: str, queue: str) -> None:
    hour, minute = map(int, deadline_text.split(":"))
    deadline = dt.datetime.now().replace(hour=hour, minute=minute, second=0, microsecond=0)
    if deadline <= dt.datetime.now():
        sys.exit(f"lane.py: the deadline {deadline_text} has passed; give a later time today (HH:MM)")
    for line in Path(queue).read_text().splitlines():
        words = line.split("#")[0].split()
        if not words:
            continue
        spec = yaml.safe_load((GRID / words[1]).read_text())
        if words[0] == "prior":
            say(f"prior of {words[2]}")
            run_grid({**spec, "methods": [words[2]], "seeds": [0]}, f"prior_{words[2]}", "--prepare_only")
            continue
        _, _, task, method, seed, minutes = words
        cell = {**spec, "tasks": [task], "methods": [method], "seeds": [int(seed)]}
        runs = grid(cell)
        directory, epochs = runs[0].directory, spec["params"]["epochs"]
        if runs[0].status(epochs) == "finished" or holder_of(directory / LOCK_FILE):
            continue
        done = last_epoch(directory / "progress.txt") if (directory / "progress.txt").exists() else 0
        left = float(minutes) * (epochs - done) / epochs
        if dt.datetime.now() + dt.timedelta(minutes=left) > deadline:
            say(f"skip {directory.name}: ~{left:.0f} min would end after {deadline:%H:%M}")
            continue
        if any(step.product for step in preparation_commands(cell, runs)):
            say(f"skip {directory.name}: its prior is not trained yet")
            continue
        say(f"run {directory.name} (~{left:.0f} min)")
        run_grid(cell, directory.name)
    say("queue done")


if __name__ == "__main__":
    main(*sys.argv[1:])
