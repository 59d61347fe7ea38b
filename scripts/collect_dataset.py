"""Collect task-agnostic expert trajectories of a suite, one resumable piece file per trajectory.

Same command as the console script sfp-collect; usage: --help, or sfp/commands/collect.py."""

from sfp.commands.collect import main

if __name__ == "__main__":
    main()
