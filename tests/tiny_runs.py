"""The command line of a tiny main.py run (one epoch of 120 steps, small networks and buffer), shared by the tests
that run one: `tiny_run("corridor-v1", max_ep_len=40)`."""

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


def tiny_run(env: str | None = "corridor-v1", **changes) -> list[str]:
    """main.py arguments: --env `env` (None: left out) and the TINY parameters with `changes`."""
    words = ["--env", env] if env is not None else []
    return words + [word for key, value in {**TINY, **changes}.items() for word in (f"--{key}", str(value))]
