"""The options that name a collection (shared by the collect and distill commands)."""

import argparse

from sfp.config import ArgumentParser
from sfp.errors import UserError, one_line
from sfp.paths import EXPERTS, SUITES


def env_choice(value: str) -> str:
    """--env: a suite, or a registered Gymnasium id (module:id imports the module that registers it first)."""
    if value in SUITES:
        return value
    from sfp.envs.gym_task import gym_spec

    try:
        gym_spec(value)
    except UserError as err:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {value!r} (use {' or '.join(SUITES)}, or a Gymnasium id: {one_line(err)})"
        ) from None
    return value


def suite_parser(description: str, env_help: str) -> ArgumentParser:
    """A parser with --env (a suite or a Gymnasium id), --expert and --name (see sfp.data.gym_collection)."""
    parser = ArgumentParser(
        description=description, allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--env",
        required=True,
        type=env_choice,
        metavar="{" + ",".join(SUITES) + ",<Gymnasium id>}",
        help=f"{env_help}: a suite, or any Gymnasium id (module:id imports its module first, e.g. "
        "gymnasium_robotics:PointMaze_Open-v3)",
    )
    parser.add_argument(
        "--expert",
        default=None,
        help=f"point-maze: {EXPERTS[0]} (the default, the paper's data) or {EXPERTS[1]} (its frame mismatch "
        "fixed); meta-world: original. A Gymnasium id: "
        "pointmaze or fetch (built-in; the default of PointMaze_Open* and Fetch* ids) or your own as "
        "module:callable, a function expert(observation, rng) -> action in [-1, 1] or a class of such callables "
        "made with no arguments per trajectory (docs/data.md)",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="Gymnasium ids only: the data name of the collection, lower-case words joined by '_' (default: the "
        "built-in expert's, else the callable's name in lower case)",
    )
    return parser
