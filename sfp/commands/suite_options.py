"""The options that name a collection (shared by the collect and distill commands)."""

import argparse

from sfp.config import ArgumentParser
from sfp.paths import DEFAULT_EXPERT, EXPERTS, SUITES


def suite_parser(description: str, env_help: str) -> ArgumentParser:
    """A parser with --env (a suite) and --expert (point-maze: original or fixed)."""
    parser = ArgumentParser(
        description=description, allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--env", required=True, choices=SUITES, help=env_help)
    parser.add_argument(
        "--expert",
        choices=EXPERTS,
        default=DEFAULT_EXPERT,
        help="point-maze only: original (the paper's data) or fixed (its frame mismatch fixed)",
    )
    return parser
