"""Train a prior over expert actions:  python flows/train.py --env point-maze [--key value ...]

Parameters: flows/default_params.json. The checkpoint goes to $SFP_FLOW_DIR under the name main.py reads;
logs, plots and diagnostics to $SFP_LOG_DIR/flows_<...>_s<seed>/. --diagnose_only True re-checks a checkpoint.
"""
import sys

from flows.options import parse_train_params
from flows.prior_training import diagnose_checkpoint, train_prior
from sfp.errors import exits_cleanly


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    params = parse_train_params(argv)
    if params.diagnose_only:
        diagnose_checkpoint(params)
    else:
        train_prior(params)


if __name__ == "__main__":
    main(sys.argv[1:])
