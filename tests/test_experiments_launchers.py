"""The grid launchers: one decision per run for every backend, local children that die with the launcher, a real
two-node Ray cluster on loopback, and submitit's local executor with a job preempted and requeued."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from sfp import paths
from sfp.experiments.analysis import read_progress
from sfp.experiments.grid import grid, load_spec
from sfp.experiments.launchers import (
    LOCKED_EXIT,
    RAY_LOOPBACK_ENV,
    LocalBackend,
    SubmititBackend,
    begin,
    drive,
    outcome,
    slurm_executor,
)

pytestmark = pytest.mark.slow  # the launchers start real Ray instances and submitit jobs (make test-fast skips them)

BUDGET = (
    "{epochs: %d, steps_per_epoch: 400, start_steps: 200, update_after: 100, num_test_episodes: 1, max_ep_len: 100}"
)


def write_spec(folder: Path, name: str, epochs: int, tasks: str = "corridor-v1, room-v1") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\ntasks: [{tasks}]\nmethods: [sac]\nseeds: [0, 1]\nparams: {BUDGET % epochs}\n")
    return path


def grid_command(spec: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "sfp.commands.grid", str(spec), "--poll_seconds", "1", *flags]


def logged_epochs(spec: Path) -> dict[str, list[int]]:
    return {
        run.directory.name: [int(epoch) for epoch in read_progress(run.directory / "progress.txt").get("Epoch", [])]
        for run in grid(load_spec(spec))
    }


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def train_processes(prefix: str, seed: int | None = None) -> dict[int, int]:
    """{pid: parent pid} of the live `sfp.commands.train` processes of runs named prefix* (with this seed)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        if (
            b"sfp.commands.train" in words
            and any(word.startswith(prefix.encode()) for word in words)
            and stat[0] != "Z"
            and (seed is None or words[words.index(b"--seed") + 1] == str(seed).encode())
        ):
            found[int(entry.name)] = int(stat[1])
    return found


def wait_for(condition, seconds: float, what: str):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


def some_epoch_logged(spec: Path) -> bool:
    return any(epochs for epochs in _partial_epochs(spec).values())


def _partial_epochs(spec: Path) -> dict[str, list]:
    return {
        run.directory.name: list(read_progress(run.directory / "progress.txt").get("Epoch", []))
        for run in grid(load_spec(spec))
        if (run.directory / "progress.txt").exists()
    }


# --- the decision and the exit statuses, shared by every backend -------------------------------------------------


def test_one_decision_per_run_skip_resume_move_aside_start(tmp_path):
    run = grid(load_spec(write_spec(tmp_path, "d", 2)))[0]
    line, argv = begin(run, epochs=2)
    assert line.endswith(": started") and argv == run.argv
    run.directory.mkdir(parents=True)
    (run.directory / "config.json").write_text("{}")  # died before its first checkpoint
    line, argv = begin(run, epochs=2)
    assert "moved to" in line and argv == run.argv and not run.directory.exists()
    aside = [path for path in run.directory.parent.iterdir() if path.name.startswith(run.directory.name + ".failed-")]
    assert len(aside) == 1 and (aside[0] / "config.json").exists()
    run.directory.mkdir()
    (run.directory / "checkpoint.pt").write_bytes(b"x")
    (run.directory / "progress.txt").write_text("Epoch\tX\n1\t0\n")
    line, argv = begin(run, epochs=2)
    assert line.endswith(": resumed") and argv == run.argv + ["--resume", "True"]
    (run.directory / "progress.txt").write_text("Epoch\tX\n1\t0\n2\t0\n")
    assert begin(run, epochs=2) == (f"{run.directory.name}: finished, skipped", None)


def test_exit_statuses_mean_the_same_for_every_backend(tmp_path):
    run = grid(load_spec(write_spec(tmp_path, "x", 2)))[0]
    run.directory.mkdir(parents=True)
    (run.directory / "progress.txt").write_text("Epoch\tX\n1\t0\n")
    run.directory.with_name(run.directory.name + ".out").write_text(
        "note: ...\nerror: run directory is in use by process 4242; wait for it or stop it\n"
    )
    assert outcome(run, 2, 0).kind == "failed"  # exit 0 without the last epoch is not a finished run
    held = outcome(run, 2, LOCKED_EXIT)
    assert held.kind == "held" and held.line.endswith(
        "held by another writer (run directory is in use by process 4242; wait for it or stop it)"
    )
    assert [outcome(run, 2, code).kind for code in (130, 143, -signal.SIGTERM, -signal.SIGKILL, 1)] == [
        "interrupted"
    ] * 4 + ["failed"]
    (run.directory / "progress.txt").write_text("Epoch\tX\n1\t0\n2\t0\n")
    assert outcome(run, 2, 0).kind == "finished"


def test_slurm_without_sbatch_stops_with_one_line(tmp_path):
    pytest.importorskip("submitit", reason="the cluster extra (pip install 'sfp[cluster]') is not installed")
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # this venv, no Slurm
    assert shutil.which("sbatch", path=env["PATH"]) is None
    done = subprocess.run(
        grid_command(write_spec(tmp_path, "s", 2), "--launcher", "slurm"), env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: --launcher slurm needs Slurm (no sbatch on PATH): run on a Slurm "
        "login node, or use --launcher local or ray"
    ]


# --- local ---------------------------------------------------------------------------------------------------------


def test_local_runs_die_with_a_killed_launcher_and_a_rerun_finishes_each_once(tmp_path):
    """kill -9 of the launcher leaves no run alive; SIGTERM stops the runs and exits 143; the rerun finishes each
    run with epochs 1..E exactly once."""
    spec = write_spec(tmp_path, "loc", 3, tasks="room-v1")
    log = open(tmp_path / "launcher.log", "w")
    launcher = subprocess.Popen(grid_command(spec, "--parallel", "2"), stdout=log, stderr=subprocess.STDOUT)
    children = wait_for(lambda: len(train_processes("loc__")) == 2 and train_processes("loc__"), 120, "two runs")
    assert set(children.values()) == {launcher.pid}
    wait_for(lambda: some_epoch_logged(spec), 120, "a first epoch")
    launcher.kill()
    launcher.wait()
    wait_for(lambda: not any(alive(pid) for pid in children), 60, "the runs to die with their launcher")

    launcher = subprocess.Popen(grid_command(spec, "--parallel", "2"), stdout=log, stderr=subprocess.STDOUT)
    children = wait_for(lambda: len(train_processes("loc__")) == 2 and train_processes("loc__"), 120, "two runs")
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=120) == 143
    assert not any(alive(pid) for pid in children)

    done = subprocess.run(grid_command(spec, "--parallel", "2"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert logged_epochs(spec) == {"loc__room-v1__sac_s0": [1, 2, 3], "loc__room-v1__sac_s1": [1, 2, 3]}
    log.close()
    assert "stopping: the runs save their checkpoints" in (tmp_path / "launcher.log").read_text()


def test_a_run_held_by_another_writer_is_waited_for_never_doubled(tmp_path, capsys):
    """A rerun while an old run still writes: the launcher's child meets the lock (75), the launcher says who
    holds the directory, tries again later and then finds the run finished: one writer, each epoch once."""
    spec = write_spec(tmp_path, "held", 2, tasks="room-v1")
    run = grid(load_spec(spec))[0]
    holder = subprocess.Popen(
        [sys.executable, "-m", "sfp.commands.train", *run.argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: (run.directory / "run.lock").exists(), 120, "the first writer's lock")
        status = drive([run], 2, LocalBackend(1), poll_seconds=1, held_wait_seconds=2)
    finally:
        holder.wait(timeout=300)
    out = capsys.readouterr().out
    assert status == 0 and holder.returncode == 0
    assert "held__room-v1__sac_s0: held by another writer (" in out and f"process {holder.pid} " in out
    assert out.splitlines()[-1].startswith("grid: 1 finished")  # after the holder: skipped, or resumed at its end
    assert logged_epochs(spec) == {"held__room-v1__sac_s0": [1, 2], "held__room-v1__sac_s1": []}  # s1 not driven


# --- ray: a head and a second node on this machine, loopback only --------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray", reason="the cluster extra (pip install 'sfp[cluster]') is not installed")
    ray_cli = Path(sys.executable).with_name("ray")
    port, temp = _free_port(), tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "RAY_memory_monitor_refresh_ms": "0"}  # a shared test machine: no OOM killer
    nodes = [
        subprocess.Popen(
            [
                ray_cli,
                "start",
                "--head",
                "--port",
                str(port),
                "--node-ip-address",
                "127.0.0.1",
                "--num-cpus",
                "1",
                "--include-dashboard",
                "false",
                "--temp-dir",
                temp,
                "--block",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    ]
    try:
        import ray

        time.sleep(3)
        nodes.append(
            subprocess.Popen(
                [
                    ray_cli,
                    "start",
                    "--address",
                    address,
                    "--node-ip-address",
                    "127.0.0.1",
                    "--num-cpus",
                    "1",
                    "--block",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        )

        def two_nodes():
            try:
                completed = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        f"import ray; ray.init(address='{address}', "
                        f"log_to_driver=False); print(sum(n['Alive'] for n in ray.nodes()))",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                return completed.stdout.strip() == "2"
            except subprocess.TimeoutExpired:
                return False

        wait_for(two_nodes, 120, "a two-node Ray cluster")
        assert ray.__version__
        yield address
    finally:
        for node in reversed(nodes):  # `ray start --block` stops its node's processes on SIGTERM
            node.terminate()
            try:
                node.wait(timeout=30)
            except subprocess.TimeoutExpired:
                node.kill()
        shutil.rmtree(temp, ignore_errors=True)


def listening_addresses(pids: list[int]) -> set[str]:
    """The addresses on which the processes `pids` and their descendants accept connections."""
    import psutil  # a dependency of ray

    addresses = set()
    for pid in pids:
        try:
            parent = psutil.Process(pid)
            family = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in family:
            try:
                addresses |= {
                    connection.laddr.ip
                    for connection in process.net_connections("inet")
                    if connection.status == psutil.CONN_LISTEN
                }
            except psutil.NoSuchProcess:  # ended while we looked
                pass
    return addresses


LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


def test_a_grid_on_the_launchers_own_ray_instance_listens_on_loopback_only(tmp_path):
    pytest.importorskip("ray", reason="the cluster extra (pip install 'sfp[cluster]') is not installed")
    spec = write_spec(tmp_path, "rlocal", 1, tasks="corridor-v1")
    environment = {key: value for key, value in os.environ.items() if key not in (*RAY_LOOPBACK_ENV, "RAY_ADDRESS")}
    # a local ray.init() writes an authentication token to ~/.ray, which the other Ray tests' cluster would then
    # trip over: this driver gets a home of its own
    environment["HOME"] = str(tmp_path)
    # no --address: the driver starts the instance, so Ray's servers are the driver's descendants
    driver = subprocess.Popen(
        grid_command(spec, "--launcher", "ray"),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        found = wait_for(lambda: listening_addresses([driver.pid]), 120, "the local Ray instance")
        output, _ = driver.communicate(timeout=400)
    finally:
        driver.kill()
    assert found <= LOOPBACK, found
    assert driver.returncode == 0, output
    assert list(logged_epochs(spec).values()) == [[1], [1]]


def test_ray_runs_a_grid_to_completion(ray_cluster, tmp_path):
    spec = write_spec(tmp_path, "ray", 2)
    done = subprocess.run(
        grid_command(spec, "--launcher", "ray", "--address", ray_cluster), capture_output=True, text=True, timeout=400
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(epochs == [1, 2] for epochs in logged_epochs(spec).values()) and len(logged_epochs(spec)) == 4
    lines = done.stdout.splitlines()
    assert lines[0] == "4 runs: 0 finished, 4 to run" and lines[-1].startswith("grid: 4 finished, 0 interrupted")
    assert sum(line.endswith(": started") for line in lines) == 4
    assert all(
        f"{name}: epoch 2/2, 0 test success" in lines or f"{name}: epoch 2/2, 1 test success" in lines
        for name in logged_epochs(spec)
    )


def test_ray_driver_killed_mid_grid_resumes_without_doubling_a_run(ray_cluster, tmp_path):
    spec = write_spec(tmp_path, "rkill", 3)
    driver = subprocess.Popen(
        grid_command(spec, "--launcher", "ray", "--address", ray_cluster),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(
        lambda: any((run.directory / "checkpoint.pt").exists() for run in grid(load_spec(spec))),
        240,
        "a first checkpoint on the cluster",
    )
    running = train_processes("rkill__")
    driver.kill()
    driver.wait()
    wait_for(lambda: not any(alive(pid) for pid in running), 90, "the runs to stop with their driver")
    partial = _partial_epochs(spec)
    assert len(partial) < 4 or any(len(epochs) < 3 for epochs in partial.values())  # it was killed mid-grid

    done = subprocess.run(
        grid_command(spec, "--launcher", "ray", "--address", ray_cluster), capture_output=True, text=True, timeout=400
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed" in done.stdout, done.stdout
    assert list(logged_epochs(spec).values()) == [[1, 2, 3]] * 4


# --- submitit: the Slurm code path on submitit's local executor ---------------------------------------------------


def test_submitit_runs_the_grid_and_a_preempted_job_resumes_from_its_checkpoint(tmp_path):
    pytest.importorskip("submitit", reason="the cluster extra (pip install 'sfp[cluster]') is not installed")
    spec = write_spec(tmp_path, "sub", 3)
    runs = grid(load_spec(spec))
    backend = SubmititBackend(slurm_executor(paths.log_dir(create=True) / "sub.submitit", cluster="local"))
    preempted = {}

    def preempt_first_run():
        """What Slurm does before a time limit or a preemption: SIGUSR2 to the job's process (submitit's)."""
        target = runs[0]
        wait_for(lambda: read_progress(target.directory / "progress.txt"), 240, "the first run's first epoch")
        ((pid, job_process),) = train_processes(target.name, seed=target.seed).items()
        preempted.update(run=pid, job=job_process)
        os.kill(job_process, signal.SIGUSR2)

    watcher = threading.Thread(target=preempt_first_run, daemon=True)
    watcher.start()
    try:
        status = drive(runs, 3, backend, poll_seconds=1)
    finally:
        backend.stop()
    watcher.join(timeout=1)
    assert status == 0 and preempted and not alive(preempted["run"])
    assert list(logged_epochs(spec).values()) == [[1, 2, 3]] * 4
    job_logs = "".join(path.read_text() for path in (paths.log_dir() / "sub.submitit").glob("*_log.*"))
    assert "Calling checkpoint method" in job_logs and "Requeued job" in job_logs
    output = runs[0].directory.with_name(runs[0].directory.name + ".out").read_text()
    assert output.count("logs: ") == 2  # the run started once and was resumed once, in the same directory
