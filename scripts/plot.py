"""Learning curves and a results table from run directories (see sfp/experiments/analysis.py for the statistics).

Same command as the console script sfp-plot; usage: --help, or sfp/commands/plot.py."""

from sfp.commands.plot import main

if __name__ == "__main__":
    main()
