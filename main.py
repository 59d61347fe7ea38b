"""Downstream RL: SAC (+HER, n-step) with a state-free prior, and every baseline of the paper.

    python main.py --env window-close-v2 --use_prior True --alpha 0.01

Parameters and their defaults: default_params.json beside this file (any key can be given as --key value; edit
the file to change a default). The console script sfp-train is the same command (sfp/commands/train.py).
"""

from pathlib import Path

from sfp.commands.train import main

if __name__ == "__main__":
    main(params_file=Path(__file__).parent / "default_params.json")
