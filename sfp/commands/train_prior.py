"""sfp-train-prior / flows/train.py: fit a prior over expert actions (or diagnose an existing checkpoint)."""

from pathlib import Path

from sfp.errors import exits_cleanly
from sfp.paths import check_data_dirs
from sfp.priors.params import PARAMS_FILE, parse_train_params
from sfp.priors.training import diagnose_checkpoint, train_prior


@exits_cleanly
def main(argv: list[str] | None = None, params_file: Path = PARAMS_FILE) -> None:
    params = parse_train_params(argv, params_file)
    if not params.debug:  # unusable data directories fail with one line before any work (nothing is created)
        check_data_dirs("SFP_LOG_DIR", *([] if params.diagnose_only else ["SFP_FLOW_DIR"]))
    if params.diagnose_only:
        diagnose_checkpoint(params)
    else:
        train_prior(params)


if __name__ == "__main__":
    main()
