"""sfp-train / main.py: downstream RL, SAC (+HER, n-step) with a state-free prior, and every baseline."""
from pathlib import Path

from sfp.errors import exits_cleanly
from sfp.paths import log_dir
from sfp.rl.params import PARAMS_FILE, load_rl_params
from sfp.rl.run import run


@exits_cleanly
def main(argv: list[str] | None = None, params_file: Path = PARAMS_FILE) -> None:
    params, notes = load_rl_params(argv, params_file)
    if not params.debug:
        log_dir(create=True)  # an unusable $SFP_LOG_DIR fails with one line before any work
    run(params, notes)


if __name__ == "__main__":
    main()
