"""Evaluate and watch a trained agent: rebuild a run from its directory, run episodes, print a table.

    python scripts/evaluate.py <run directory> [--episodes 20] [--policy deterministic|behaviour] [--seed 123]
        [--video out.mp4|out.gif|folder/] [--video_episodes 3] [--checkpoint path]

reads <run>/config.json and <run>/checkpoint.pt (no parameters retyped), and writes <run>/eval_<policy>_<seed>.json
(see sfp/rl/evaluation.py); --video writes an MP4 or GIF of the first episodes. Every output place is checked
before the run is rebuilt; an output file that exists is replaced, with a note before the episodes start.
"""

import argparse

from sfp.config import ArgumentParser, parse_int
from sfp.errors import exits_cleanly
from sfp.paths import check_output_names, output_file, replacing_note, write_json
from sfp.rl.evaluation import (
    MAX_EPISODES,
    MAX_SEED,
    POLICIES,
    check_options,
    evaluate,
    format_report,
    load_run,
    report_path,
)
from sfp.rl.video import VIDEO_SUFFIXES


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(
        description=__doc__.splitlines()[0], allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("run_dir", help="the run's directory, $SFP_LOG_DIR/<exp_name>_s<seed>")
    parser.add_argument("--episodes", type=parse_int, default=20, help=f"episodes to run, 1 to {MAX_EPISODES:,}")
    parser.add_argument(
        "--policy",
        default="deterministic",
        help=f"{' or '.join(POLICIES)}: tanh(mu) as in test episodes, or the training mixture",
    )
    parser.add_argument(
        "--seed",
        type=parse_int,
        default=123,
        help=f"0 to {MAX_SEED}; episode i is reset with the i-th seed drawn from it",
    )
    parser.add_argument(
        "--video",
        default=None,
        help="write a video of the first episodes to this file: .mp4 (H.264) or .gif, by its suffix; "
        "a directory (or a name ending in '/') means eval_<policy>_<seed>.mp4 in it; an existing "
        "file is replaced, with a note",
    )
    parser.add_argument(
        "--video_episodes", type=parse_int, default=3, help="how many of the first episodes --video shows"
    )
    parser.add_argument("--checkpoint", default=None, help="a checkpoint file instead of <run_dir>/checkpoint.pt")
    return parser.parse_args(argv)


@exits_cleanly
def main(argv=None) -> dict:
    args = parse_args(argv)
    check_options(args.policy, args.episodes, args.video_episodes, args.seed)  # before the run is rebuilt
    video = None
    if args.video is not None:
        video = output_file(args.video, "--video", f"eval_{args.policy}_{args.seed}.mp4", VIDEO_SUFFIXES)
    path = report_path(args.run_dir, args.policy, args.seed)
    if path.parent.is_dir():  # else load_run names what is wrong with the run directory
        check_output_names([path], "copy the run directory to a writable place and evaluate the copy")
    run = load_run(args.run_dir, args.checkpoint)
    if video is not None and (note := replacing_note([video])):
        print(f"note: {note}")
    if path.exists():
        print(f"note: replacing the earlier {path.name} of this run (same policy and seed)")
    for note in run.notes:
        print(f"note: {note}")
    try:
        report = evaluate(run, args.episodes, args.policy, args.seed, video, args.video_episodes)
    finally:
        run.close()
    print(format_report(report))
    write_json(path, report)
    print(f"wrote {path}" + (f" and {video} ({report['video_frames']} frames)" if video else ""))
    return report


if __name__ == "__main__":
    main()
