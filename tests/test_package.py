"""The installable package: its layout follows the pipeline, it registers its environments, and a wheel installed
outside the checkout runs the small pipeline from an empty directory through its console scripts."""

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import gymnasium
import pytest

from sfp.envs import EPISODE_STEPS, env_family, registered_names

ROOT = Path(__file__).resolve().parents[1]
# Pipeline order: a sub-package may import the shared modules (sfp/*.py) and the sub-packages before it, never after.
STAGES = ("envs", "data", "priors", "rl", "experiments", "benchmarks", "commands")
CONSOLE_SCRIPTS = (
    "sfp-collect",
    "sfp-distill",
    "sfp-import-d4rl",
    "sfp-train-prior",
    "sfp-train",
    "sfp-grid",
    "sfp-plot",
)


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "sfp":
                names.update(f"sfp.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_sub_package_imports_a_later_stage():
    offences = []
    for path in (ROOT / "sfp").rglob("*.py"):
        parts = path.relative_to(ROOT / "sfp").parts
        if parts == ("__init__.py",):  # the package itself registers the environments
            continue
        level = STAGES.index(parts[0]) if len(parts) > 1 else -1
        for module in _imported_modules(path):
            words = module.split(".")
            if words[0] == "sfp" and len(words) > 1 and words[1] in STAGES and STAGES.index(words[1]) > level:
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offences


def test_shared_modules_import_no_stage():
    for path in (ROOT / "sfp").glob("*.py"):
        if path.name == "__init__.py":  # registers the environments
            continue
        assert not [m for m in _imported_modules(path) if m.split(".")[:2][-1] in STAGES], path.name


def test_code_cites_only_documents_in_the_repository():
    cited = re.compile("reference" + r" §|DESIGN\.md|original-behaviour")  # (split so that it does not cite itself)
    for path in [
        *ROOT.glob("sfp/**/*.py"),
        *ROOT.glob("scripts/*.py"),
        *ROOT.glob("tests/*.py"),
        ROOT / "main.py",
        ROOT / "flows" / "train.py",
    ]:
        if path.name != "test_package.py":
            assert not cited.search(path.read_text()), path
    for doc in re.findall(r"docs/[\w./-]+\.md", "".join(p.read_text() for p in ROOT.glob("sfp/**/*.py"))):
        assert (ROOT / doc).is_file(), doc


def test_import_registers_every_environment_with_its_time_limit():
    names = registered_names()
    assert len(names) == 3 + 2 * 17 + 5 * 8 and len(set(names)) == len(names)
    for name in names:
        spec = gymnasium.spec(f"sfp/{name}")
        assert spec.max_episode_steps == EPISODE_STEPS[env_family(name)]
    assert {"sfp/hopper-sparse-biased", "sfp/walker-noisy", "sfp/ant", "sfp/reach-v3", "sfp/maze-v1"} <= set(
        gymnasium.registry
    )


def test_a_bare_interpreter_makes_sfp_environments_and_import_sets_no_backend(tmp_path):
    code = (
        "import os, gymnasium as g\n"
        "env = g.make('sfp:sfp/corridor-v1'); env.reset(seed=0)\n"
        "assert env.spec.max_episode_steps == 500\n"
        "assert 'MUJOCO_GL' not in os.environ, 'import sfp chose a rendering backend'\n"
        "g.make('sfp:sfp/hopper-sparse-biased').reset(seed=0)\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "MUJOCO_GL"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """The project built as a wheel from its tracked files and installed into a new virtual environment outside the
    checkout; that environment borrows this one's dependencies through a .pth line (no download), which does not
    expose the checkout. Returns the new environment's bin and site-packages folders."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and not name.startswith("results/") and (ROOT / name).exists():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, source / name, follow_symlinks=False)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(base / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [
            *pip,
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            str(next((base / "dist").glob("sfp-*.whl"))),
        ],
        check=True,
        capture_output=True,
    )
    return venv / "bin", site


def test_the_wheel_carries_the_package_its_parameter_files_and_console_scripts(installed_wheel):
    bin_dir, site = installed_wheel
    assert (site / "sfp" / "rl" / "default_params.json").is_file()
    assert (site / "sfp" / "priors" / "default_params.json").is_file()
    assert not (site / "flows").exists(), "no top-level flows module in the wheel"
    for script in CONSOLE_SCRIPTS:
        assert (bin_dir / script).is_file(), script


@pytest.mark.slow  # builds and installs the wheel in a fresh venv (make test-fast skips it)
def test_the_installed_package_runs_the_small_pipeline_from_an_empty_directory(installed_wheel, tmp_path):
    bin_dir, site = installed_wheel
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # nothing but the wheel
    environment["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    work = tmp_path / "empty"
    work.mkdir()

    def run(*command):
        result = subprocess.run(command, cwd=work, env=environment, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stderr[-2000:]}"
        return result.stdout

    where = run(str(bin_dir / "python"), "-c", "import sfp; print(sfp.__file__)")
    assert where.strip().startswith(str(site)), "the installed package, not the checkout, was imported"
    run("sfp-collect", "--env", "point-maze", "--num_trajs", "20", "--traj_len", "60")
    run("sfp-distill", "--env", "point-maze")
    run("sfp-train-prior", "--env", "point-maze", "--epochs", "1", "--num_threads", "1")
    run(
        "sfp-train",
        "--env",
        "room-v1",
        "--use_prior",
        "True",
        "--alpha",
        "0.01",
        "--epochs",
        "1",
        "--steps_per_epoch",
        "300",
        "--start_steps",
        "100",
        "--update_after",
        "100",
        "--num_test_episodes",
        "1",
        "--num_threads",
        "1",
        "--max_ep_len",
        "100",
    )
    progress = Path(os.environ["SFP_LOG_DIR"]) / "room-v1__sfp_s0" / "progress.txt"  # named after task and method
    assert len(progress.read_text().splitlines()) == 2  # the header and one epoch
    assert not any(work.iterdir()), "the commands wrote into the working directory"
