"""The point-maze pipeline end to end on a small default: collect -> distill -> prior -> SFP (`make run`).

It runs the same commands a user would type, printing each, inside a sandbox root (default ./demo-run, or
--root / $SFP_DEMO_DIR) so it never touches your own ~/.d4rl/datasets, ~/flows or ~/logs. Re-running it reuses
the dataset and prior it already made and starts a new, time-stamped RL run.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(run_name: str) -> list[list[str]]:
    return [
        ["scripts/collect_dataset.py", "--env", "point-maze", "--num_trajs", "200", "--workers", "2"],
        ["scripts/distill_dataset.py", "--env", "point-maze"],
        ["flows/train.py", "--env", "point-maze", "--epochs", "8", "--num_threads", "2"],
        [
            "main.py",
            "--env",
            "corridor-v1",
            "--use_prior",
            "True",
            "--alpha",
            "0.01",
            "--epochs",
            "3",
            "--steps_per_epoch",
            "2000",
            "--start_steps",
            "1000",
            "--update_after",
            "1000",
            "--num_test_episodes",
            "5",
            "--num_threads",
            "2",
            "--exp_name",
            run_name,
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--root",
        default=os.environ.get("SFP_DEMO_DIR", str(ROOT / "demo-run")),
        help="sandbox for datasets/, flows/ and logs/",
    )
    root = Path(parser.parse_args().root).resolve()
    env = {
        **os.environ,
        "D4RL_DATASET_DIR": str(root / "datasets"),
        "SFP_FLOW_DIR": str(root / "flows"),
        "SFP_LOG_DIR": str(root / "logs"),
    }
    run_name = time.strftime("demo_sfp_%Y%m%d-%H%M%S")
    prior = root / "flows" / "maze_primitive_flow_action_1.pt"
    for command in commands(run_name):
        if command[0] == "flows/train.py" and prior.exists():
            print(f"\n== prior {prior} exists: reusing it (delete it to train again)", flush=True)
            continue
        print(f"\n== python {' '.join(command)}", flush=True)
        if subprocess.run([sys.executable, *command], cwd=ROOT, env=env).returncode != 0:
            sys.exit("demo stopped: the command above failed")
    print(
        f"\nDone. Everything is under {root}:\n"
        f"  dataset      {root / 'datasets' / 'maze_primitive.hdf5'}\n"
        f"  prior        {prior} (diagnostics and plots in {root / 'logs'}/flows_maze_flow_action_1_s1)\n"
        f"  SFP run      {root / 'logs' / (run_name + '_s0')} (progress.txt, tensorboard, checkpoint)\n"
        f"  tensorboard  tensorboard --logdir {root / 'logs'}"
    )


if __name__ == "__main__":
    main()
