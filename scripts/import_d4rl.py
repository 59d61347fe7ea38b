"""Import a local D4RL locomotion file as the expert dataset of its body.

Same command as the console script sfp-import-d4rl; usage: --help, or sfp/commands/import_d4rl.py."""

from sfp.commands.import_d4rl import main

if __name__ == "__main__":
    main()
