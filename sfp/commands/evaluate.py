"""Evaluate and watch a trained agent: rebuild a run from its directory, run episodes, print a table.

    python scripts/evaluate.py <run directory> [--episodes 20] [--policy deterministic|behaviour] [--seed 123]
        [--video out.mp4] [--video_episodes 3] [--checkpoint path]

reads <run>/config.json and <run>/checkpoint.pt (no parameters retyped), and writes <run>/eval_<policy>_<seed>.json
(see sfp/rl/evaluation.py); --video writes an MP4 of the first episodes.
"""
import argparse
from pathlib import Path

from sfp.config import ArgumentParser
from sfp.errors import exits_cleanly
from sfp.paths import write_json
from sfp.rl.evaluation import (
    POLICIES,
    check_options,
    evaluate,
    format_report,
    load_run,
    report_path,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False,
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("run_dir", help="the run's directory, $SFP_LOG_DIR/<exp_name>_s<seed>")
    parser.add_argument("--episodes", type=int, default=20, help="episodes to run")
    parser.add_argument("--policy", default="deterministic",
                        help=f"{' or '.join(POLICIES)}: tanh(mu) as in test episodes, or the training mixture")
    parser.add_argument("--seed", type=int, default=123, help="episode i is reset with the i-th seed drawn from it")
    parser.add_argument("--video", default=None, help="write an MP4 of the first episodes to this file")
    parser.add_argument("--video_episodes", type=int, default=3, help="how many of the first episodes --video shows")
    parser.add_argument("--checkpoint", default=None, help="a checkpoint file instead of <run_dir>/checkpoint.pt")
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> dict:
    args = parse_args(argv)
    check_options(args.policy, args.episodes, args.video_episodes)  # before the run is rebuilt
    run = load_run(args.run_dir, args.checkpoint)
    if args.video is not None and Path(args.video).exists():
        print(f"note: replacing {args.video}")
    for note in run.notes:
        print(f"note: {note}")
    try:
        report = evaluate(run, args.episodes, args.policy, args.seed, args.video, args.video_episodes)
    finally:
        run.close()
    print(format_report(report))
    path = report_path(run.directory, args.policy, args.seed)
    if path.exists():
        print(f"note: replacing the earlier {path.name} of this run (same policy and seed)")
    write_json(path, report)
    print(f"wrote {path}" + (f" and {args.video} ({report['video_frames']} frames)" if args.video else ""))
    return report


if __name__ == "__main__":
    main()
