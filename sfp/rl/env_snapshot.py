"""The random state of an environment, so a run can be resumed mid-episode with identical results.

Simulators cannot be pickled reliably (metaworld classes are built at import time, MuJoCo data do not restore
through pickle), but they are deterministic. So a checkpoint keeps the random state the env had before its current
episode's reset, and the actions taken since; `replay_episode` rebuilds the exact simulator state from them.
Every numpy Generator reachable from the env (wrappers, the gymnasium env, simulators it wraps, their spaces) is
captured, keyed by its attribute path; that includes the parts of an env from any package (Gymnasium-Robotics, a
user's module): the search descends into the package the env's own class comes from.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

MAX_DEPTH = 4


def _generators(env) -> dict[str, np.random.Generator]:
    packages = {"gymnasium", "metaworld", "sfp", _package(getattr(env, "unwrapped", env))}
    return _generators_below(env, packages, "", 0, set())


def _generators_below(obj, packages: set[str], path: str, depth: int, seen: set) -> dict[str, np.random.Generator]:
    if id(obj) in seen or depth > MAX_DEPTH or not hasattr(obj, "__dict__"):
        return {}
    seen.add(id(obj))
    found = {}
    for name, value in vars(obj).items():
        if isinstance(value, np.random.Generator):
            found[f"{path}.{name}"] = value
        elif _package(value) in packages:  # envs, wrappers, simulators, spaces; not arrays, tensors or modules
            found.update(_generators_below(value, packages, f"{path}.{name}", depth + 1, seen))
    return found


def _package(value) -> str:
    return (type(value).__module__ or "").split(".")[0]


def rng_snapshot(env) -> dict[str, Mapping[str, Any]]:
    """{attribute path: bit-generator state} of every Generator the env draws from."""
    return {path: generator.bit_generator.state for path, generator in _generators(env).items()}


def restore_rng(env, snapshot: Mapping[str, Mapping[str, Any]]) -> None:
    """Put every Generator of `snapshot` back. Gymnasium makes an env's `_np_random` on first use, so a freshly
    built env may lack one the saved env had: it is created, with the saved state, on the object that held it."""
    generators = _generators(env)
    for path, state in snapshot.items():
        if path in generators:
            generators[path].bit_generator.state = state
        else:
            _create_generator(env, path, state)


def _create_generator(env, path: str, state: Mapping[str, Any]) -> None:
    *owner_path, name = path.split(".")[1:]
    owner = env
    for attribute in owner_path:
        owner = getattr(owner, attribute, None)
    if owner is None or getattr(owner, name, None) is not None:
        raise RuntimeError(f"the environment no longer has the random generator {path}")
    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    generator.bit_generator.state = state
    setattr(owner, name, generator)


def replay_episode(env, reset_seed: int | None, snapshot: Mapping[str, Mapping[str, Any]], actions: list[np.ndarray]):
    """Reset `env` as at the start of the recorded episode and step the recorded actions again.
    Returns the observations seen [o_0, ..., o_k] (to be checked against the recorded ones)."""
    restore_rng(env, snapshot)
    obs, _ = env.reset(seed=reset_seed)
    observations = [obs]
    for action in actions:
        observations.append(env.step(action)[0])
    return observations
