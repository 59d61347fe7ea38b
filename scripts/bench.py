"""Every speed figure of the project, measured side by side in one run on this machine at one torch thread:

    pip install -r requirements-bench.txt      # Stable-Baselines3, for the comparison only
    python scripts/bench.py [--steps 4000]

Prints a markdown table (paste it into the README with the date and machine it names).
"""

import argparse
import platform
import time

import torch

from sfp.benchmarks.collection import bench_suite
from sfp.benchmarks.prior import run_benchmarks
from sfp.benchmarks.rl import (
    SAC_HER_FLAGS,
    SFP_FLAGS,
    TASK,
    stable_baselines3_sac_her,
    training_loop,
    update_times,
)
from sfp.errors import exits_cleanly
from sfp.runtime import set_threads


def _cpu() -> str:
    try:
        lines = open("/proc/cpuinfo").read().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4000, help="environment steps per training-loop measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = 1000
    torch.set_flush_denormal(False)  # Stable-Baselines3 as its users run it
    sb3 = stable_baselines3_sac_her(args.steps, start)["steps_per_second"]
    set_threads(1)  # this project's set-up: 1 thread, denormals flushed to zero (also given to SB3 below)
    sb3_flushed = stable_baselines3_sac_her(args.steps, start)["steps_per_second"]
    ours = training_loop(args.steps, start, SAC_HER_FLAGS)
    sfp = training_loop(args.steps, start, SFP_FLAGS)
    updates = update_times()
    maze, sawyer = bench_suite("point-maze", 400, 500), bench_suite("meta-world", 20, 500)
    prior = run_benchmarks(2_000_000, 2, 1, 400, 100, 2000)
    rows = [
        (f"SAC+HER on {TASK}, steady state (1-step returns, HER future k=4, 256x2, batch 100, 1 update/step)", "", ""),
        ("  Stable-Baselines3 2.9 SAC + HerReplayBuffer", f"{sb3:.1f} steps/s", "1.00"),
        ("  the same with denormals flushed to zero", f"{sb3_flushed:.1f} steps/s", f"{sb3_flushed / sb3:.2f} x SB3"),
        (
            "  this project, SAC+HER",
            f"{ours['steps_per_second']:.1f} steps/s",
            f"{ours['steps_per_second'] / sb3:.2f} x SB3, {ours['steps_per_second'] / sb3_flushed:.2f} x flushed SB3",
        ),
        (
            "  this project, SFP (6-block flow prior, n-step 10)",
            f"{sfp['steps_per_second']:.1f} steps/s",
            f"{sfp['steps_per_second'] / sb3:.2f} x SB3",
        ),
        ("  SFP loop time / time inside its updates", f"{sfp['steady_seconds'] / sfp['update_seconds']:.3f}", ""),
        ("one update (n-step 10, HER)", "", ""),
        ("  bare reference update (same networks)", f"{updates['bare'] * 1e3:.2f} ms", "1.00"),
        ("  SAC update", f"{updates['sac'] * 1e3:.2f} ms", f"{updates['sac'] / updates['bare']:.2f} x bare"),
        ("  SFP update", f"{updates['sfp'] * 1e3:.2f} ms", f"{updates['sfp'] / updates['sac']:.2f} x SAC"),
        ("data collection, per worker", "", ""),
        ("  point-maze", f"{maze['worker']:,.0f} steps/s", f"{maze['worker'] / maze['bare']:.2f} x bare env.step"),
        (
            "  meta-world",
            f"{sawyer['worker']:,.0f} steps/s",
            f"{sawyer['worker'] / sawyer['bare']:.2f} x bare env.step",
        ),
        ("prior (default flow, 1 thread)", "", ""),
        ("  training, batch 400", f"{prior['train_samples_per_s']:,.0f} samples/s", ""),
        ("  BatchNorm recompute, 2 M rows", f"{prior['batchnorm_recompute_s']:.1f} s", ""),
        ("  one single-action sample", f"{prior['sample_latency_ms']:.2f} ms", ""),
    ]
    print(f"\n{time.strftime('%Y-%m-%d')}, {_cpu()}, 1 torch thread, `python scripts/bench.py --steps {args.steps}`\n")
    print("| measurement | value | ratio |\n|---|---|---|")
    for name, value, ratio in rows:
        print(f"| {name} | {value} | {ratio} |")


if __name__ == "__main__":
    main()
