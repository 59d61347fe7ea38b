"""The command a message names: the console script the user has, or the checkout script that does the same."""

import sys
from pathlib import Path

CHECKOUT_COMMANDS = {
    "sfp-collect": "python scripts/collect_dataset.py",
    "sfp-distill": "python scripts/distill_dataset.py",
    "sfp-import-d4rl": "python scripts/import_d4rl.py",
    "sfp-import-minari": "python scripts/import_minari.py",
    "sfp-train-prior": "python flows/train.py",
    "sfp-train": "python main.py",
    "sfp-grid": "python scripts/run_experiments.py",
    "sfp-plot": "python scripts/plot.py",
    "sfp-plot-exploration": "python scripts/plot_exploration.py",
    "sfp-evaluate": "python scripts/evaluate.py",
    "sfp-data-statistics": "python scripts/data_statistics.py",
}


def command(console_script: str) -> str:
    """'sfp-distill' when this process was started as an sfp-* console script, else 'python
    scripts/distill_dataset.py' (the checkout command of the same program)."""
    started = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return console_script if started.startswith("sfp-") else CHECKOUT_COMMANDS[console_script]
