"""Tiny command lines shared by the tests, spelled as flags from a dict of parameters:

- `tiny_run("corridor-v1", max_ep_len=40)`: main.py, one epoch of 120 steps, small networks and buffer;
- `tiny_prior("point-maze", batch_size=32)`: flows/train.py, one epoch of a small flow on one thread.

A change adds a flag or replaces the value of one; a change to None leaves the flag out (the script's default holds).
"""

TINY = {
    "epochs": 1,
    "steps_per_epoch": 120,
    "start_steps": 40,
    "update_after": 40,
    "update_every": 20,
    "batch_size": 16,
    "hid": 16,
    "max_ep_len": 60,
    "num_test_episodes": 1,
    "num_threads": 1,
    "replay_size": 1000,
}
TINY_PRIOR = {"epochs": 1, "num_blocks": 2, "num_hidden": 16, "pre_mlp_units": 8, "batch_size": 64, "num_threads": 1}


def _flags(env: str | None, parameters: dict, changes: dict) -> list[str]:
    """--env `env` (None: left out), then the `parameters` with `changes` as --key value, None values left out."""
    words = ["--env", env] if env is not None else []
    merged = {**parameters, **changes}
    return words + [word for key, value in merged.items() if value is not None for word in (f"--{key}", str(value))]


def tiny_run(env: str | None = "corridor-v1", **changes) -> list[str]:
    """main.py arguments: --env `env` (None: left out) and the TINY parameters with `changes`."""
    return _flags(env, TINY, changes)


def tiny_prior(env: str | None = "point-maze", **changes) -> list[str]:
    """flows/train.py arguments: --env `env` (None: left out) and the TINY_PRIOR parameters with `changes`."""
    return _flags(env, TINY_PRIOR, changes)
