"""sfp-train-sb3: the peer reference `sb3_sac` (Stable-Baselines3 SAC + HER at its own defaults), logged like main.py.

    python -m sfp.commands.train_sb3 --env window-close-v2 --epochs 50 --seed 0 --exp_name peer

Takes main.py's parameters; those SB3 does not use must keep their defaults (see sfp/rl/peer_sac.py)."""

import sys

from sfp.errors import exits_cleanly
from sfp.rl.params import load_rl_params
from sfp.rl.peer_sac import PEER_COMMAND, run_peer


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    params, _ = load_rl_params(argv, command=PEER_COMMAND)  # default name <env>__sb3_sac; run_peer checks $SFP_LOG_DIR
    status = run_peer(params)
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
