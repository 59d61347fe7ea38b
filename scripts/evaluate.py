"""Evaluate and watch a trained agent (table, eval_<policy>_<seed>.json, optional MP4).

Same command as the console script sfp-evaluate; usage: --help, or sfp/commands/evaluate.py."""

from sfp.commands.evaluate import main

if __name__ == "__main__":
    main()
