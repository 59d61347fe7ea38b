"""Import a Minari dataset that is already on this machine as an SFP expert dataset.

Same command as the console script sfp-import-minari; usage: --help, or sfp/commands/import_minari.py."""

from sfp.commands.import_minari import main

if __name__ == "__main__":
    main()
