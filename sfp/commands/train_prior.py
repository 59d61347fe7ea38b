"""sfp-train-prior / flows/train.py: fit a prior over expert actions (or diagnose an existing checkpoint)."""

from pathlib import Path

from sfp.errors import exits_cleanly
from sfp.paths import flow_dir, log_dir
from sfp.priors.params import PARAMS_FILE, parse_train_params
from sfp.priors.training import diagnose_checkpoint, train_prior


@exits_cleanly
def main(argv: list[str] | None = None, params_file: Path = PARAMS_FILE) -> None:
    params = parse_train_params(argv, params_file)
    if not params.debug:  # unusable data directories fail with one line before any work
        log_dir(create=True)
        if not params.diagnose_only:
            flow_dir(create=True)
    if params.diagnose_only:
        diagnose_checkpoint(params)
    else:
        train_prior(params)


if __name__ == "__main__":
    main()
