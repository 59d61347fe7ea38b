"""The random state of an environment, so a run can be resumed mid-episode with identical results.

Simulators cannot be pickled reliably (metaworld classes are built at import time, MuJoCo data do not restore
through pickle), but they are deterministic. So a checkpoint keeps the random state the env had before its current
episode's reset, and the actions taken since; `replay_episode` rebuilds the exact simulator state from them.
Every numpy Generator reachable from the env (wrappers, the gymnasium env, simulators it wraps, their spaces) is
captured, keyed by its attribute path.
"""
import numpy as np

MAX_DEPTH = 4


def _generators(obj, path: str = "", depth: int = 0, seen: set | None = None) -> dict[str, np.random.Generator]:
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > MAX_DEPTH or not hasattr(obj, "__dict__"):
        return {}
    seen.add(id(obj))
    found = {}
    for name, value in vars(obj).items():
        if isinstance(value, np.random.Generator):
            found[f"{path}.{name}"] = value
        elif _is_env_part(value):
            found.update(_generators(value, f"{path}.{name}", depth + 1, seen))
    return found


def _is_env_part(value) -> bool:
    """Objects worth descending into: envs, wrappers, simulators and spaces (not arrays, tensors or modules)."""
    module = type(value).__module__ or ""
    return module.split(".")[0] in ("gymnasium", "metaworld", "sfp")


def rng_snapshot(env) -> dict[str, dict]:
    """{attribute path: bit-generator state} of every Generator the env draws from."""
    return {path: generator.bit_generator.state for path, generator in _generators(env).items()}


def restore_rng(env, snapshot: dict[str, dict]) -> None:
    generators = _generators(env)
    missing = set(snapshot) - set(generators)
    if missing:
        raise RuntimeError(f"the environment no longer has the random generators {sorted(missing)}")
    for path, state in snapshot.items():
        generators[path].bit_generator.state = state


def replay_episode(env, reset_seed: int | None, snapshot: dict[str, dict], actions: list[np.ndarray]):
    """Reset `env` as at the start of the recorded episode and step the recorded actions again.
    Returns the observations seen [o_0, ..., o_k] (to be checked against the recorded ones)."""
    restore_rng(env, snapshot)
    obs, _ = env.reset(seed=reset_seed)
    observations = [obs]
    for action in actions:
        observations.append(env.step(action)[0])
    return observations
