"""A module that calls sys.exit while it is imported, as a script turned module might (tests/test_envs_gym.py,
tests/test_data_gym.py)."""

import sys

sys.exit(3)
