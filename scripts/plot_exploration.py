"""Exploration maps of point-maze runs: visitation heat maps and coverage curves.

Same command as the console script sfp-plot-exploration; usage: --help, or sfp/commands/plot_exploration.py."""

from sfp.commands.plot_exploration import main

if __name__ == "__main__":
    main()
