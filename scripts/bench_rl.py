"""RL speed, measured side by side in one run at one torch thread (see sfp/benchmarks/rl.py).

python scripts/bench_rl.py [--updates 300] [--steps 3000]
"""

import argparse

from sfp.benchmarks.rl import TASK, training_loop, update_times
from sfp.runtime import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=300, help="updates timed per variant")
    parser.add_argument("--steps", type=int, default=3000, help="environment steps of the training-loop run")
    args = parser.parse_args()
    set_threads(1)
    times = update_times(args.updates)
    loop = training_loop(args.steps)
    update_share = loop["update_seconds"] / loop["steady_seconds"]
    print(f"\nRL benchmark, 1 torch thread, {TASK}, batch 100, hid 256x2, n-step 10, HER")
    print("| measurement | value | ratio |\n|---|---|---|")
    print(f"| bare reference update | {times['bare'] * 1e3:.2f} ms | 1.00 |")
    print(f"| SAC update (sfp.rl.agent) | {times['sac'] * 1e3:.2f} ms | {times['sac'] / times['bare']:.2f} x bare |")
    print(
        f"| SFP update (flow prior, 6 blocks) | {times['sfp'] * 1e3:.2f} ms | {times['sfp'] / times['sac']:.2f} x SAC |"
    )
    print(f"| replay sample (HER, n-step) | {times['sample'] * 1e3:.2f} ms | |")
    print(
        f"| SFP training loop, steady state | {loop['steps_per_second']:.1f} env steps/s | "
        f"{1 / update_share:.3f} x time in updates ({loop['updates']} updates) |"
    )


if __name__ == "__main__":
    main()
