"""Run a grid of experiments (methods × tasks × seeds) from a spec, N at a time, resumable.

Same command as the console script sfp-grid; usage: --help, or sfp/commands/grid.py."""

from sfp.commands.grid import main

if __name__ == "__main__":
    main()
