"""How persistent a dataset's actions are: steps per target, cosine of consecutive actions, lag-1 autocorrelation.

Same command as the console script sfp-data-statistics; usage: --help, or sfp/commands/data_statistics.py."""

from sfp.commands.data_statistics import main

if __name__ == "__main__":
    main()
