"""Grids of runs: methods × tasks × seeds from a small YAML/JSON spec, N at a time, resumable.

A spec (see experiments/*.yaml):

    name: maze                      # runs are named <name>__<task>__<method>, logged in <name>__..._s<seed>/
    tasks: [corridor-v1, maze-v1]
    methods: [sfp, sac, sac_bc, parrot_state]     # presets of sfp/rl/methods.py
    seeds: [0, 1, 2]
    params: {epochs: 25, steps_per_epoch: 2000}   # default_params.json overrides for every run
    method_params: {sac: {alpha: 0.05}}           # per-method overrides (optional)
    data: {num_trajs: 4000, workers: 2}           # collection of a missing dataset (optional)
    prior: {epochs: 30}                           # flows/train.py overrides for a missing prior (optional)

Before launching, the datasets and priors the grid needs are made when missing (the same commands a user would
type). A finished run is skipped, an interrupted one resumed (`--resume True`), a new one started; each runs as
`python -m sfp.commands.train ... --num_threads 1` (main.py's command) with its output in <run directory>.out.
"""
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sfp import paths
from sfp.envs import env_family, locomotion_body
from sfp.errors import UserError
from sfp.experiments.analysis import read_progress
from sfp.rl.build import needs_dataset, required_priors
from sfp.rl.methods import METHODS
from sfp.rl.params import load_rl_params
from sfp.rl.visitation import VISITATION_FILE

SUITE_OF_SHORT = {short: suite for suite, short in paths.SUITES.items()}
SPEC_KEYS = {"name", "tasks", "methods", "seeds", "params", "method_params", "data", "prior"}


@dataclass
class Run:
    task: str
    method: str
    seed: int
    argv: list[str]
    name: str = field(init=False)

    def __post_init__(self):
        self.name = self.argv[self.argv.index("--exp_name") + 1]

    @property
    def directory(self) -> Path:
        return paths.run_dir(self.name, self.seed)

    def status(self, epochs: int) -> str:
        """'finished', 'interrupted' (resumable), 'broken' (a run directory without checkpoint) or 'new'."""
        progress = self.directory / "progress.txt"
        if progress.exists() and last_epoch(progress) >= epochs:
            return "finished"
        if (self.directory / "checkpoint.pt").exists():
            return "interrupted"
        return "broken" if (self.directory / "config.json").exists() else "new"


def load_spec(path: str | Path) -> dict:
    path = Path(path)
    try:
        spec = (json.loads if path.suffix == ".json" else yaml.safe_load)(path.read_text())
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise UserError(f"cannot read the experiment spec {path}: {err}") from None
    unknown = set(spec) - SPEC_KEYS
    if unknown or not {"name", "tasks", "methods", "seeds"} <= set(spec):
        raise UserError(f"{path}: a spec has name, tasks, methods, seeds and optionally params, method_params, "
                        f"data, prior (unknown: {sorted(unknown)})")
    for method in spec["methods"]:
        if method not in METHODS:
            raise UserError(f"{path}: unknown method {method!r}; presets are {', '.join(METHODS)}")
    return spec


def _flags(overrides: dict) -> list[str]:
    return [word for key, value in overrides.items() for word in (f"--{key}", str(value))]


def grid(spec: dict) -> list[Run]:
    """Every run of the spec, checked like main.py would check it (an error names the run)."""
    runs = []
    for task in spec["tasks"]:
        for method in spec["methods"]:
            overrides = {**spec.get("params", {}), **METHODS[method].overrides, **spec.get("method_params", {}).get(method, {})}
            for seed in spec["seeds"]:
                argv = ["--env", task, *_flags(overrides), "--seed", str(seed), "--num_threads", "1",
                        "--exp_name", f"{spec['name']}__{task}__{method}"]
                try:
                    params, _ = load_rl_params(argv)
                except UserError as err:
                    raise UserError(f"{task}/{method}: {err}") from None
                if params.track and not params.wandb_group:  # one W&B group per grid
                    argv += ["--wandb_group", spec["name"]]
                runs.append(Run(task, method, seed, argv))
    return runs


def last_epoch(progress: Path) -> int:
    columns = read_progress(progress)
    return int(columns["Epoch"][-1]) if columns else 0


def _suite(task: str) -> str:
    family = env_family(task)
    return locomotion_body(task) if family == "locomotion" else SUITE_OF_SHORT[family]


def preparation_commands(spec: dict, runs: list[Run]) -> list[list[str]]:
    """Commands that make the missing datasets and priors of the grid, in order."""
    commands, seen = [], set()
    data = {"num_trajs": 4000, "workers": 2, **spec.get("data", {})}
    for run in runs:
        params, _ = load_rl_params(run.argv)
        suite = _suite(run.task)
        short = paths.short_name(suite)
        name = paths.data_name(short, params.expert)
        expert = ["--expert", params.expert] if short == "maze" else []
        if (needs_dataset(params) or required_priors(params)) and name not in seen:
            seen.add(name)
            if not paths.dataset_file(name).exists():
                if short not in SUITE_OF_SHORT:
                    raise UserError(f"{run.task} needs {paths.dataset_file(short)}: import it with "
                                    f"python scripts/import_d4rl.py --file <{short}-expert-v2.hdf5>")
                commands.append(["-m", "sfp.commands.collect", "--env", suite, *expert, *_flags(data)])
                commands.append(["-m", "sfp.commands.distill", "--env", suite, *expert])
        for model, cond, n_step, ratio, one_step in required_priors(params):
            checkpoint = paths.prior_checkpoint(name, model, cond, n_step, ratio, one_step)
            if checkpoint not in seen and not checkpoint.exists():
                seen.add(checkpoint)
                commands.append(["-m", "sfp.commands.train_prior", "--env", suite, *expert, "--model", model, "--mode", cond, "--n_step",
                                 str(n_step), "--data_ratio", str(ratio), "--one_step", str(one_step),
                                 *_flags(spec.get("prior", {}))])
    return commands


def _run_command(command: list[str]) -> None:
    print(f"== python {' '.join(command)}", flush=True)
    if subprocess.run([sys.executable, *command]).returncode != 0:
        raise UserError(f"preparation failed: python {' '.join(command)}")


class Launcher:
    """Runs the grid `parallel` runs at a time; prints one line per run whenever it finishes an epoch."""

    def __init__(self, runs: list[Run], epochs: int, parallel: int, poll_seconds: float = 10.0):
        self.runs, self.epochs, self.parallel, self.poll_seconds = runs, epochs, parallel, poll_seconds
        self.active: dict[str, tuple[Run, subprocess.Popen]] = {}
        self.reported: dict[str, int] = {}

    def start(self, run: Run, status: str) -> None:
        if status == "broken":  # a run that died before its first checkpoint: keep it aside, start again
            aside = run.directory.with_name(f"{run.directory.name}.failed-{time.strftime('%Y%m%d-%H%M%S')}")
            run.directory.rename(aside)
            print(f"{run.directory.name}: no checkpoint, moved to {aside.name} and started again", flush=True)
        argv = run.argv + (["--resume", "True"] if status == "interrupted" else [])
        output = open(run.directory.with_name(run.directory.name + ".out"), "a")
        process = subprocess.Popen([sys.executable, "-m", "sfp.commands.train", *argv], stdout=output,
                                   stderr=subprocess.STDOUT)
        self.active[run.directory.name] = (run, process)
        print(f"{run.directory.name}: {'resumed' if status == 'interrupted' else 'started'}", flush=True)

    def report(self) -> None:
        for key, (run, process) in list(self.active.items()):
            progress = run.directory / "progress.txt"
            epoch = last_epoch(progress)
            if epoch != self.reported.get(key, 0):
                self.reported[key] = epoch
                print(f"{key}: epoch {epoch}/{self.epochs}, {_last_value(progress, 'AverageTestSuccessRate')} "
                      f"test success", flush=True)
            if process.poll() is not None:
                del self.active[key]
                state = "finished" if run.status(self.epochs) == "finished" else f"stopped ({process.returncode})"
                print(f"{key}: {state}; see {run.directory}.out", flush=True)

    def run(self) -> None:
        pending = [(run, run.status(self.epochs)) for run in self.runs]
        done = [run for run, status in pending if status == "finished"]
        pending = [(run, status) for run, status in pending if status != "finished"]
        print(f"{len(self.runs)} runs: {len(done)} finished, {len(pending)} to run, {self.parallel} at a time",
              flush=True)
        try:
            while pending or self.active:
                while pending and len(self.active) < self.parallel:
                    self.start(*pending.pop(0))
                time.sleep(self.poll_seconds)
                self.report()
        except KeyboardInterrupt:  # the runs got the same Ctrl-C: they save a checkpoint and stop
            print("Ctrl-C: waiting for the runs to save their checkpoints; rerun the command to resume", flush=True)
            for _, process in self.active.values():
                process.wait()


def _last_value(progress: Path, column: str) -> str:
    columns = read_progress(progress)
    return f"{columns[column][-1]:g}" if columns else "-"


def run_grid(spec_path: str | Path, parallel: int, prepare_only: bool = False) -> list[Run]:
    spec = load_spec(spec_path)
    runs = grid(spec)
    for command in preparation_commands(spec, runs):
        _run_command(command)
    if not prepare_only:
        epochs = int(spec.get("params", {}).get("epochs", load_rl_params([])[0].epochs))
        Launcher(runs, epochs, parallel).run()
    return runs


def snapshot_logs(directories: list[Path], destination: Path) -> list[Path]:
    """Copy each run's config.json, progress.txt and, for maze runs, visitation.npz (a few kB; no checkpoints) to
    destination/<run>/, so figures can be regenerated from committed logs. Returns the copies."""
    copies = []
    for directory in directories:
        if not (directory / "progress.txt").exists():
            continue
        target = destination / directory.name
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "progress.txt", VISITATION_FILE):  # visitation.npz: maze runs only
            if (directory / name).exists():
                (target / name).write_bytes((directory / name).read_bytes())
        copies.append(target)
    return copies
