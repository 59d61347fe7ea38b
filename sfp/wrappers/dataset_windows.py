"""Initial prior conditions drawn from the expert data (reference §7.2, rand_init_cond=True)."""
import numpy as np


def random_action_window(actions: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n consecutive dataset actions (n, A) from a uniform start; the window may cross trajectory boundaries."""
    start = int(rng.integers(0, len(actions) - n + 1))
    return np.array(actions[start:start + n], dtype=np.float32)
