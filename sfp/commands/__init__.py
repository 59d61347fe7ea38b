"""The command-line programs: one module per command, each with main(argv=None); scripts/*.py, main.py,
flows/train.py and the sfp-* console scripts call them."""
