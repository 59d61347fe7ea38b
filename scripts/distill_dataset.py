"""Verify the collected pieces of a suite and merge them into its dataset file.

Same command as the console script sfp-distill; usage: --help, or sfp/commands/distill.py."""

from sfp.commands.distill import main

if __name__ == "__main__":
    main()
