"""Reference rows: short fixed-seed runs whose progress.txt must not change while the evidence grids run.

Each case is one method of the grids on room-v1 (a tiny dataset and a one-epoch prior, both made here from fixed
seeds), run as main.py runs it, in a process of its own with one thread. tests/test_rl_reference_rows.py compares the
rows with those stored in tests/reference_rows/<case>.tsv, every column but the time columns. The stored rows were
made by the grids' code version; a change that alters them alters what a run computes. Remake them (only for a
change meant to alter the numbers, and never while a grid runs) with

    python tests/reference_rows.py --write
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tiny_runs import tiny_prior

ROOT = Path(__file__).resolve().parents[1]
STORED = Path(__file__).resolve().parent / "reference_rows"
TIME_COLUMNS = ("Time", "SPS", "UpdatesPerSec")
RUN = [
    "--env",
    "room-v1",
    "--epochs",
    "2",
    "--steps_per_epoch",
    "300",
    "--start_steps",
    "100",
    "--update_after",
    "100",
    "--update_every",
    "50",
    "--batch_size",
    "32",
    "--hid",
    "32",
    "--max_ep_len",
    "100",
    "--num_test_episodes",
    "2",
    "--num_threads",
    "1",
    "--replay_size",
    "5000",
    "--seed",
    "3",
]
PRIOR = tiny_prior()
CASES = {  # the paper's SFP and SAC, and the tuned protocol's autotuned SFP and pink noise
    "sfp": ["--use_prior", "True", "--alpha", "0.01"],
    "sac": [],
    "sfp_auto": ["--use_prior", "True", "--alpha", "0.01", "--autotune_alpha", "True"],
    "pink_auto": ["--action_noise", "pink", "--autotune_alpha", "True"],
}


def make_inputs(env: dict) -> None:
    """The tiny maze dataset and its prior, in the directories of `env`."""
    script = (
        "from sfp import paths; from sfp.data.synthetic import write_persistent_dataset; "
        "from sfp.priors.params import parse_train_params; from sfp.priors.training import train_prior; "
        "paths.dataset_dir(create=True); write_persistent_dataset(paths.dataset_file('maze'), 12, 60); "
        f"train_prior(parse_train_params({PRIOR!r}))"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, cwd=ROOT)


def run_rows(case: str, env: dict) -> list[dict[str, str]]:
    """The progress rows of `case` (time columns dropped), each {column: text}."""
    subprocess.run(
        [sys.executable, "main.py", *RUN, *CASES[case], "--exp_name", case],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return parse(Path(env["SFP_LOG_DIR"], f"{case}_s3", "progress.txt").read_text())


def parse(text: str) -> list[dict[str, str]]:
    header, *lines = text.splitlines()
    names = header.split("\t")
    return [{name: value for name, value in zip(names, line.split("\t")) if name not in TIME_COLUMNS} for line in lines]


def sandbox_env(root: Path) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for variable, name in (("D4RL_DATASET_DIR", "datasets"), ("SFP_FLOW_DIR", "flows"), ("SFP_LOG_DIR", "logs")):
        env[variable] = str(root / name)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="run every case and store its progress.txt")
    if not parser.parse_args().write:
        parser.error("nothing to do: add --write to remake tests/reference_rows/*.tsv")
    with tempfile.TemporaryDirectory() as tmp:
        env = sandbox_env(Path(tmp))
        make_inputs(env)
        STORED.mkdir(exist_ok=True)
        for case in CASES:
            run_rows(case, env)
            source = Path(env["SFP_LOG_DIR"], f"{case}_s3", "progress.txt")
            (STORED / f"{case}.tsv").write_bytes(source.read_bytes())
            print(f"wrote {STORED / f'{case}.tsv'}")


if __name__ == "__main__":
    main()
