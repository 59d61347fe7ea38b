"""A module that fails while it is imported, as a half-written user module would (tests/test_envs_gym.py)."""

raise RuntimeError("half-written module")
