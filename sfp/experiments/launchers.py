"""Where a grid's runs execute: local subprocesses, Ray tasks or Slurm jobs (through submitit).

Every backend starts a run the same way, on the machine that runs it: `begin` looks at the run directory and
skips a finished run, resumes an interrupted one (`--resume True`), moves a broken one (no checkpoint) aside and
starts it again, or starts a new one; `spawn` then runs `python -m <run.command> <argv>` (main.py's module,
sfp.commands.train, for every method but the peer sb3_sac) as a child that dies
with its parent. `outcome` reads the child's exit status the same way everywhere (0 finished, 130/143
interrupted after saving, 75 another writer holds the run directory). `drive` is the one driver loop: it submits
the runs, prints one line per run when it starts, finishes an epoch or stops, submits again a run that another
writer held once that writer may be gone, and on Ctrl-C or SIGTERM stops the runs (each saves its checkpoint) and
returns 130 or 143.
"""

import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sfp import paths
from sfp.errors import UserError, one_line
from sfp.experiments.analysis import counted, read_progress
from sfp.experiments.grid import (
    Run,
    grid,
    grid_epochs,
    load_spec,
    preparation_commands,
    run_preparation,
)
from sfp.rl.params import load_rl_params
from sfp.run_lock import LOCKED_EXIT, RunLocked, hold_run_lock

if TYPE_CHECKING:  # the optional cluster extra, imported when the slurm launcher is used
    import submitit

SIGNAL_EXITS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # shell convention: 128 + signal number
CLUSTER_INSTALL = 'pip install "sfp[cluster]" (or pip install -r requirements-cluster.txt)'
FORWARDED_ENV = ("D4RL_DATASET_DIR", "MUJOCO_GL")  # with every SFP_* variable, passed to Ray tasks
# On Linux, Ray gives a node the machine's outward address and binds its servers (GCS, raylet, workers) to every
# interface, even with --node-ip-address 127.0.0.1. This switch, named for Windows and macOS where it is Ray's
# default, makes a single-node instance use 127.0.0.1 (it also forbids adding nodes); it is read when ray is first
# imported.
RAY_LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PRCTL = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None) if sys.platform == "linux" else None


@dataclass
class Outcome:
    """How one attempt at a run ended: kind is 'finished', 'interrupted', 'held' or 'failed'."""

    name: str
    kind: str
    line: str  # what the driver prints
    began: str = ""  # begin()'s line, for backends whose runs start out of the driver's sight


def output_file(run: Run) -> Path:
    return run.directory.with_name(run.directory.name + ".out")


def begin(run: Run, epochs: int) -> tuple[str, list[str] | None]:
    """The decision every backend makes before it starts a run: (a line saying what was decided, the train
    command's argv, or None for a finished run, which is skipped)."""
    name, status = run.directory.name, run.status(epochs)
    if status == "finished":
        return f"{name}: finished, skipped", None
    if status == "interrupted":
        return f"{name}: resumed", run.argv + ["--resume", "True"]
    if status == "broken":  # a run that died before its first checkpoint: keep what it wrote, start again
        aside = run.directory.with_name(f"{name}.failed-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            with hold_run_lock(run.directory):  # never move a directory that a live run is writing
                run.directory.rename(aside)
        except RunLocked:  # that run has not saved yet: the child meets its lock (exit 75) and the grid waits
            return f"{name}: no checkpoint yet, held by another writer", run.argv + ["--resume", "True"]
        return f"{name}: no checkpoint, moved to {aside.name} and started again", run.argv
    return f"{name}: started", run.argv


def _child_setup(parent: int):
    """preexec_fn of a run: it ignores SIGUSR2 (Slurm's early warning, meant for submitit's job process, which
    then stops the run with SIGTERM) and gets SIGTERM when its parent dies, even by kill -9 (Linux's
    PR_SET_PDEATHSIG). Without prctl (not Linux) a run outlives a killed launcher; its run-directory lock still
    keeps a rerun from writing beside it."""

    def setup():
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM))
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), signal.SIGTERM)

    return setup


def spawn(run: Run, argv: list[str]) -> subprocess.Popen:
    """Start the run as a child in its own session (a terminal's Ctrl-C reaches only its parent, which forwards
    one SIGTERM), output appended to <run directory>.out."""
    paths.ensure_dir(run.directory.parent, "point $SFP_LOG_DIR at a writable folder")
    with open(output_file(run), "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", run.command, *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid()),
        )


def _last_error(run: Run) -> str:
    """The run's last `error: ...` line (main.py's one-line refusal), without the prefix."""
    try:
        lines = output_file(run).read_text(errors="replace").splitlines()
    except OSError:
        return "see " + str(output_file(run))
    errors = [line[len("error: ") :] for line in lines if line.startswith("error: ")]
    return errors[-1] if errors else "see " + str(output_file(run))


def outcome(run: Run, epochs: int, returncode: int) -> Outcome:
    """The meaning of a run's exit status, the same for every backend."""
    name = run.directory.name
    if returncode == 0 and run.status(epochs) == "finished":
        return Outcome(name, "finished", f"{name}: finished")
    if returncode == LOCKED_EXIT:
        return Outcome(name, "held", f"{name}: held by another writer ({_last_error(run)})")
    if returncode in SIGNAL_EXITS.values() or returncode < 0:
        return Outcome(name, "interrupted", f"{name}: interrupted ({returncode}); rerun the grid to resume it")
    return Outcome(name, "failed", f"{name}: stopped ({returncode}); see {output_file(run)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the run and wait for it to save its checkpoint and exit."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    process.wait()


def execute(run: Run, epochs: int) -> Outcome:
    """One attempt at a run, start to end, where this function is called (a Ray task). An exception here (a
    cancelled task gets KeyboardInterrupt) stops the run with SIGTERM first, so that it saves."""
    began, argv = begin(run, epochs)
    if argv is None:
        return Outcome(run.directory.name, "finished", began, began)
    process = spawn(run, argv)
    try:
        returncode = process.wait()
    except BaseException:
        _stop(process)
        raise
    result = outcome(run, epochs, returncode)
    result.began = began
    return result


class SubmititRun:
    """A run as a submitit job. A preempted or timed-out job gets SIGUSR2 (submitit's signal); submitit then calls
    checkpoint(), which stops the run with SIGTERM (the run saves) and hands back a fresh job for the same run:
    requeued, it decides again, and finds the checkpoint, so it resumes with --resume True."""

    def __init__(self, run: Run, epochs: int):
        self.run, self.epochs = run, epochs
        self.process: subprocess.Popen | None = None

    def __call__(self) -> Outcome:
        began, argv = begin(self.run, self.epochs)
        if argv is None:
            return Outcome(self.run.directory.name, "finished", began, began)
        self.process = spawn(self.run, argv)
        while self.process.poll() is None:  # polling, not wait(): checkpoint() may run in between (a signal)
            time.sleep(0.5)
        result = outcome(self.run, self.epochs, self.process.returncode)
        result.began = began
        return result

    def checkpoint(self):
        import submitit

        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                os.waitpid(self.process.pid, 0)  # not Popen.wait(): the interrupted poll() may hold its lock
            except ChildProcessError:  # already reaped by that poll()
                pass
        return submitit.helpers.DelayedSubmission(SubmititRun(self.run, self.epochs))

    def __getstate__(self):
        return {"run": self.run, "epochs": self.epochs, "process": None}


class LocalBackend:
    """`parallel` runs at a time as children of this process."""

    def __init__(self, parallel: int):
        self.capacity = parallel
        self.processes: dict[str, subprocess.Popen] = {}

    def submit(self, run: Run, epochs: int) -> Outcome | None:
        began, argv = begin(run, epochs)
        print(began, flush=True)
        if argv is None:
            return Outcome(run.directory.name, "finished", began)
        self.processes[run.directory.name] = spawn(run, argv)
        return None

    def ended(self, runs: dict[str, Run], epochs: int, timeout: float) -> list[Outcome]:
        time.sleep(timeout)
        done = [name for name, process in self.processes.items() if process.poll() is not None]
        return [outcome(runs[name], epochs, self.processes.pop(name).returncode) for name in done]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            process.wait()

    def close(self) -> None:
        pass


def _require(module: str, launcher: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise UserError(f"--launcher {launcher} needs {module}: {CLUSTER_INSTALL}")


def _require_sbatch() -> None:
    if shutil.which("sbatch") is None:
        raise UserError(
            "--launcher slurm needs Slurm (no sbatch on PATH): run on a Slurm login node, or use "
            "--launcher local or ray"
        )


def require_launcher(launcher: str) -> None:
    """Fail with one line, before any work, when the launcher cannot run on this machine."""
    if launcher == "ray":
        _require("ray", "ray")
    elif launcher == "slurm":
        _require("submitit", "slurm")
        _require_sbatch()


def forwarded_env() -> dict[str, str]:
    """The driver's SFP_* (and dataset, rendering) variables, directories made absolute, for remote runs."""
    env = {key: value for key, value in os.environ.items() if key.startswith("SFP_") or key in FORWARDED_ENV}
    env.update(
        SFP_LOG_DIR=str(paths.log_dir().resolve()),
        SFP_FLOW_DIR=str(paths.flow_dir().resolve()),
        D4RL_DATASET_DIR=str(paths.dataset_dir().resolve()),
    )
    return env


def _check_reachable(address: str | None) -> None:
    """A host:port address must accept a connection (Ray itself would wait for it without end)."""
    text = address or ""
    host, _, port = text.rpartition(":")
    if host and port.isdigit() and "://" not in text:
        try:
            socket.create_connection((host, int(port)), timeout=10).close()
        except OSError as err:
            raise UserError(
                f"no Ray cluster answers at {address} ({err.strerror or err}); start one with "
                f"`ray start --head` or check --address / $RAY_ADDRESS"
            ) from None


class RayBackend:
    """One Ray task per run (1 CPU, and 1 GPU for --gpu True runs) running `execute` on a worker. `address`
    (or $RAY_ADDRESS) names a running cluster; without either, ray.init() starts a local instance for the grid
    and close() shuts it down; that local instance listens on 127.0.0.1 only (RAY_LOOPBACK_ENV), so a grid run on
    one machine opens nothing to the network. The run directories must be on a filesystem every node shares."""

    def __init__(self, address: str | None):
        _require("ray", "ray")
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address is None:
            for key, value in RAY_LOOPBACK_ENV.items():
                os.environ.setdefault(key, value)
        import ray

        self.ray = ray
        # Ray SIGKILLs a worker's children when the worker exits (its driver died, say): switched off for the
        # grid's workers, so that a run gets SIGTERM instead (parent death, see spawn) and saves its checkpoint.
        env = {**forwarded_env(), "RAY_kill_child_processes_on_worker_exit": "false"}
        _check_reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": env})
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise UserError(
                f"cannot start or reach Ray at {address or 'this machine'} "
                f"({one_line(err)[:200]}); check --address or $RAY_ADDRESS"
            ) from None
        self.task = ray.remote(execute)
        self.capacity = sys.maxsize  # Ray schedules the tasks on the free CPUs
        self.refs: dict = {}  # ObjectRef -> run name

    def submit(self, run: Run, epochs: int) -> None:
        gpus = 1 if load_rl_params(run.argv)[0].gpu else 0
        # a task whose worker or node dies is run again by Ray (it decides again: resume, or held -> 75)
        self.refs[self.task.options(num_cpus=1, num_gpus=gpus, max_retries=3).remote(run, epochs)] = run.directory.name
        print(f"{run.directory.name}: queued", flush=True)

    def ended(self, runs: dict[str, Run], epochs: int, timeout: float) -> list[Outcome]:
        ready, _ = self.ray.wait(list(self.refs), num_returns=len(self.refs), timeout=timeout)
        results = []
        for ref in ready:
            name = self.refs.pop(ref)
            try:
                results.append(self.ray.get(ref))
            except self.ray.exceptions.RayError as err:  # the worker or its node died
                results.append(
                    Outcome(
                        name,
                        "interrupted",
                        f"{name}: its Ray task died ({type(err).__name__}); rerun the grid to resume it",
                    )
                )
        return results

    def stop(self) -> None:
        for ref in self.refs:
            self.ray.cancel(ref)  # KeyboardInterrupt in execute(): the run gets SIGTERM and saves
        self.ray.wait(list(self.refs), num_returns=len(self.refs), timeout=600)

    def close(self) -> None:
        self.ray.shutdown()


def slurm_executor(
    folder: Path,
    cluster: str = "slurm",
    partition: str | None = None,
    minutes: int = 60,
    cpus: int = 1,
    gpus: int = 0,
    mem_gb: float | None = None,
):
    """A submitit executor for the grid's jobs: Slurm in production, cluster='local' (submitit's LocalExecutor,
    same protocol, this machine) in tests."""
    _require("submitit", "slurm")
    if cluster == "slurm":
        _require_sbatch()
    import submitit

    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    options = {
        "timeout_min": minutes,
        "cpus_per_task": cpus,
        "gpus_per_node": gpus,
        "tasks_per_node": 1,
        "nodes": 1,
        "name": "sfp-run",
    }
    if partition:
        options["slurm_partition"] = partition
    if mem_gb:
        options["mem_gb"] = mem_gb
    executor.update_parameters(**options)
    return executor


class SubmititBackend:
    """One submitit job per run (SubmititRun). Stopping the driver cancels its jobs (the runs save on SIGTERM)."""

    def __init__(self, executor: "submitit.Executor"):
        self.executor = executor
        self.capacity = sys.maxsize  # the scheduler decides what runs when
        self.jobs: dict[str, submitit.Job[Outcome]] = {}

    def submit(self, run: Run, epochs: int) -> None:
        job = self.executor.submit(SubmititRun(run, epochs))
        self.jobs[run.directory.name] = job
        print(f"{run.directory.name}: submitted as job {job.job_id}", flush=True)

    def ended(self, runs: dict[str, Run], epochs: int, timeout: float) -> list[Outcome]:
        from submitit.core.utils import UncompletedJobError

        time.sleep(timeout)
        results = []
        for name in [name for name, job in self.jobs.items() if job.done()]:
            job = self.jobs.pop(name)
            try:
                results.append(job.result())
            except UncompletedJobError as err:  # the job failed outside the run (submitit's log says how)
                results.append(
                    Outcome(
                        name,
                        "failed",
                        f"{name}: job {job.job_id} ended without a result "
                        f"({type(err).__name__}); see {job.paths.stdout}",
                    )
                )
        return results

    def stop(self) -> None:
        for job in self.jobs.values():
            job.cancel(check=False)

    def close(self) -> None:
        pass


class _Terminated(Exception):
    """SIGTERM of the driver, raised by its handler."""


def _raise_terminated(signum, frame):
    raise _Terminated


@dataclass
class Summary:
    finished: int = 0
    interrupted: int = 0
    held: int = 0
    failed: int = 0

    def status(self) -> int:
        return 0 if self.interrupted + self.held + self.failed == 0 else 1


def drive(
    runs: list[Run],
    epochs: int,
    backend,
    poll_seconds: float = 10.0,
    held_retries: int = 10,
    held_wait_seconds: float = 30.0,
) -> int:
    """Run the grid on `backend`; returns the exit status (0 all finished, 1 some did not, 130/143 stopped)."""
    by_name = {run.directory.name: run for run in runs}
    summary = Summary()
    reported: dict[str, int] = {}  # run name -> the last epoch reported
    tries: dict[str, int] = {}  # run name -> attempts ended
    finished = [run for run in runs if run.status(epochs) == "finished"]
    waiting = [(run, 0.0) for run in runs if run not in finished]  # (run, not before this time)
    summary.finished = len(finished)
    capacity = "" if backend.capacity == sys.maxsize else f", {backend.capacity} at a time"
    print(f"{counted(len(runs), 'run')}: {len(finished)} finished, {len(waiting)} to run{capacity}", flush=True)
    active: set[str] = set()
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        while waiting or active:
            now = time.time()
            for run, after in [item for item in waiting if item[1] <= now]:
                if len(active) >= backend.capacity:
                    break
                waiting.remove((run, after))
                early = backend.submit(run, epochs)
                if early is None:
                    active.add(run.directory.name)
                else:  # finished meanwhile
                    summary.finished += 1
            for result in backend.ended(by_name, epochs, poll_seconds):
                active.discard(result.name)
                _report_epoch(by_name[result.name], epochs, reported)
                if result.began:
                    print(result.began, flush=True)
                tries[result.name] = tries.get(result.name, 0) + 1
                if result.kind == "held" and tries[result.name] <= held_retries:
                    print(f"{result.line}; trying again in {held_wait_seconds:g} s", flush=True)
                    waiting.append((by_name[result.name], time.time() + held_wait_seconds))
                    continue
                print(
                    result.line + ("; skipped, rerun the grid once it has stopped" if result.kind == "held" else ""),
                    flush=True,
                )
                setattr(summary, result.kind, getattr(summary, result.kind) + 1)
            for name in active:
                _report_epoch(by_name[name], epochs, reported)
    except (KeyboardInterrupt, _Terminated) as stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = SIGNAL_EXITS[signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM]
        print("stopping: the runs save their checkpoints; rerun the same command to resume the grid", flush=True)
        backend.stop()
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)
        backend.close()
    print(
        f"grid: {summary.finished} finished, {summary.interrupted} interrupted, {summary.held} held by another "
        f"writer, {summary.failed} failed",
        flush=True,
    )
    return summary.status()


def _report_epoch(run: Run, epochs: int, reported: dict[str, int]) -> None:
    """Print `<run>: epoch e/E, x test success` when the run's last logged epoch changed."""
    try:
        columns = read_progress(run.directory / "progress.txt")
    except UserError:  # a damaged file: the run itself reports it when it resumes; the grid goes on
        return
    epoch = int(columns["Epoch"][-1]) if columns else 0
    if epoch != reported.get(run.directory.name, 0):
        reported[run.directory.name] = epoch
        success = f"{columns['AverageTestSuccessRate'][-1]:g}" if "AverageTestSuccessRate" in columns else "-"
        print(f"{run.directory.name}: epoch {epoch}/{epochs}, {success} test success", flush=True)


def run_grid(spec_path: str | Path, backend_factory, prepare_only: bool = False, **drive_options) -> int:
    """Check the spec, make the missing datasets and priors here (before any run starts), then drive the runs on
    backend_factory(spec) (made only now, so that a bad spec fails before a cluster is contacted). Returns the
    exit status."""
    spec = load_spec(spec_path)
    runs = grid(spec)
    for preparation in preparation_commands(spec, runs):
        run_preparation(preparation, drive_options.get("poll_seconds", 10.0))
    if prepare_only:
        return 0
    return drive(runs, grid_epochs(spec), backend_factory(spec), **drive_options)
