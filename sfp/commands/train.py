"""sfp-train / main.py: downstream RL, SAC (+HER, n-step) with a state-free prior, and every baseline."""

import sys
from pathlib import Path

from sfp.errors import exits_cleanly
from sfp.rl.params import PARAMS_FILE, load_rl_params
from sfp.rl.run import run


@exits_cleanly
def main(argv: list[str] | None = None, params_file: Path = PARAMS_FILE) -> None:
    params, notes = load_rl_params(argv, params_file)  # run() checks $SFP_LOG_DIR before any work
    trainer = run(params, notes)
    if trainer.exit_status:  # 130/143: Ctrl-C/SIGTERM stopped the run after saving a checkpoint
        sys.exit(trainer.exit_status)


if __name__ == "__main__":
    main()
