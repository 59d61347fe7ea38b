"""Downstream RL: SAC (+HER, n-step) with a state-free prior, and every baseline of the paper.

    python main.py --env window-close-v2 --use_prior True --alpha 0.01
Parameters and their defaults: default_params.json (any key can be given as --key value).
"""
from sfp.errors import exits_cleanly
from sfp.rl_params import load_rl_params
from sfp.run import run


@exits_cleanly
def main(argv: list[str] | None = None) -> None:
    params, notes = load_rl_params(argv)
    run(params, notes)


if __name__ == "__main__":
    main()
