"""Train a prior over expert actions:  python flows/train.py --env point-maze [--key value ...]

Parameters: flows/default_params.json beside this file (edit it to change a default). The checkpoint goes to
$SFP_FLOW_DIR under the name main.py reads; logs, plots and diagnostics to $SFP_LOG_DIR/flows_<...>_s<seed>/.
--diagnose_only True re-checks a checkpoint. The console script sfp-train-prior is the same command
(sfp/commands/train_prior.py).
"""

from pathlib import Path

from sfp.commands.train_prior import main

if __name__ == "__main__":
    main(params_file=Path(__file__).parent / "default_params.json")
