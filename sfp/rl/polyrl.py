"""PolyRL exploration: locally self-avoiding random walks (Aboutalebi et al.).

Used during the initial exploration phase. The trainer calls, per episode and per step:
    polyrl.pre_episode(n_completed_episodes)
    a = polyrl.select_action(state, prev_action, lambda: sac_stochastic_action)
    polyrl.post_step(s, s2)          # every step, concatenated observations [observation, desired_goal]

The walk takes "persistent" actions at a random angle eta ~ |N(lambda_p, sigma^2)| from the previous action as long
as the state-space statistics stay within the bounds [L, U] of a locally self-avoiding walk, and otherwise hands
control to the SAC policy (the "target" action).

Differences from the original (which used numpy floats and let divisions by zero produce inf/NaN silently):
  - randomness comes from the numpy Generator passed in (the original used unseeded Python `random`);
  - a zero previous action has no direction to persist: the persistent action is then the uniform draw itself;
  - a random draw parallel to the previous action (always the case with A = 1) has no orthogonal part to turn
    into: the persistent action then continues along the previous action (angle 0);
  - the cosine between consecutive state steps is 0 when either step has zero length (no direction information);
  - with epsilon = 0 (the first episode) the upper bound U is +inf instead of a 0/0 or x/0 division;
  - the exponentials C_theta^(j-i) may overflow to +inf, which makes U = +inf or L = -inf: these are valid
    bounds ("no bound"), never actions. A NaN L becomes -1 (as the original); a NaN U fails the walk check (as
    the original's comparison did). Actions are always finite and inside [-1, 1].
"""

import math
from collections.abc import Callable

import numpy as np

TINY = 1e-12


def polyrl_constants(env_name: str) -> tuple[float, float, float]:
    """(lambda_p, beta_p, sigma^2) of an environment: HalfCheetah has its own, every other env the Hopper ones."""
    if "heetah" in env_name.lower():
        return 0.35, 0.05, 0.00007
    return 0.35, 0.01, 0.017


def persistent_direction(draw: np.ndarray, previous: np.ndarray, eta: float) -> np.ndarray:
    """Turn the previous action (A,) by the angle eta towards the random draw (A,); unclipped (A,).

    The draw is split into its component along `previous` and the orthogonal rest; the rest is rescaled so that
    the result makes the angle eta with `previous` (its norm is |draw . p|/|p| / cos eta).
    """
    norm_previous = float(np.linalg.norm(previous))
    if norm_previous < TINY:
        return draw
    dot = float(draw @ previous)
    along = (dot / norm_previous**2) * previous
    rest = draw - along
    norm_rest = float(np.linalg.norm(rest))
    scale = float(np.linalg.norm(along)) * math.tan(eta) / norm_rest if norm_rest > TINY else 0.0
    turned = scale * rest + along
    return turned if dot > 0 else -turned


def cosine(u: np.ndarray, v: np.ndarray) -> float:
    """cos of the angle between two vectors; 0 when either has zero length."""
    norms = float(np.linalg.norm(u) * np.linalg.norm(v))
    return float(u @ v) / norms if norms > TINY else 0.0


class PolyRL:
    """The PolyRL walk for an env with `obs_dim`-dim states and `action_dim`-dim actions in [-1, 1]."""

    VECTORS = ("C", "B", "w_old", "w_new")  # (D,) statistics; every other attribute is a Python scalar

    def __init__(self, env_name: str, obs_dim: int, action_dim: int, rng: np.random.Generator):
        self.lambda_p, self.beta_p, self.sigma2 = polyrl_constants(env_name)
        self.obs_dim = obs_dim
        self.action_dim = action_dim
        self.rng = rng
        self.should_use_target_policy = False
        self.pre_episode(0)

    def pre_episode(self, n_completed: int) -> None:
        """Episode start: epsilon = 1 - exp(-beta_p n) and fresh walk statistics (the target flag persists)."""
        self.epsilon = 1.0 - math.exp(-self.beta_p * n_completed)
        self._reset_walk()
        self.t = 0
        self.w_old = np.zeros(self.obs_dim)
        self.w_new = np.zeros(self.obs_dim)
        self.eta: float | None = None  # the last persistent step's angle

    def _reset_walk(self) -> None:
        self.i = 1
        self.g = 0.0
        self.C = np.zeros(self.obs_dim)  # running mean of the visited states
        self.dg = 0.0
        self.b = 0.0  # running mean of squared step lengths
        self.B = np.zeros(self.obs_dim)  # sum of i * step
        self.C_theta = 0.001  # running mean of cosines between consecutive steps
        self.L = -1.0
        self.U = 1.0

    def select_action(
        self, state: np.ndarray, prev_action: np.ndarray, target_action_fn: Callable[[], np.ndarray]
    ) -> np.ndarray:
        """The exploration action (A,) in [-1, 1].

        state: (D,) current observation (part of the trainer's contract; the decision itself only uses the
        statistics gathered by post_step). prev_action: (A,) the previously executed action.
        target_action_fn(): the SAC policy's stochastic action at `state`, called only when PolyRL hands over.
        """
        if self.t == 0:
            return self.rng.uniform(-1.0, 1.0, self.action_dim)
        if self.should_use_target_policy:
            if self.rng.random() < self.epsilon:
                return self._target(target_action_fn)
            self.should_use_target_policy = False
            return self._persistent(prev_action)
        if (self.L <= self.dg <= self.U and self.C_theta > 0) or self.i == 1:
            return self._persistent(prev_action)
        self.should_use_target_policy = True
        return self._target(target_action_fn)

    def _target(self, target_action_fn) -> np.ndarray:
        self._reset_walk()
        return np.asarray(target_action_fn(), dtype=np.float64).reshape(self.action_dim)

    def _persistent(self, prev_action: np.ndarray) -> np.ndarray:
        self.eta = eta = abs(self.rng.normal(self.lambda_p, math.sqrt(self.sigma2)))
        draw = self.rng.uniform(-1.0, 1.0, self.action_dim)
        previous = np.asarray(prev_action, dtype=np.float64).reshape(self.action_dim)
        self.i += 1
        return np.clip(persistent_direction(draw, previous, eta), -1.0, 1.0)

    def post_step(self, s: np.ndarray, s2: np.ndarray) -> None:
        """Update the walk statistics with the transition s -> s2 (both (D,))."""
        s = np.asarray(s, dtype=np.float64).reshape(self.obs_dim)
        s2 = np.asarray(s2, dtype=np.float64).reshape(self.obs_dim)
        i = self.i
        self.w_old, self.w_new = self.w_new, s2 - s
        self.B = self.B + i * self.w_new
        if i != 1:
            g_old = self.g
            self.g = (i - 2) / (i - 1) * self.g + float(np.sum((s - self.C) ** 2)) / i
            self.dg = self.g - g_old
            self.C_theta = ((i - 2) * self.C_theta + cosine(self.w_new, self.w_old)) / (i - 1)
            self.U = self._upper_bound(i, g_old)
            self.L = self._lower_bound(i, g_old)
        self.b = ((i - 1) * self.b + float(np.sum(self.w_new**2))) / i
        self.C = ((i - 1) * self.C + s) / i
        self.t += 1

    def _upper_bound(self, i: int, g_old: float) -> float:
        if self.epsilon == 0.0:
            return math.inf
        c = self.C_theta
        j = np.arange(1, i, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            if c == 1.0:
                K = float(j.sum())
            elif c > 0:
                K = float(np.sum(j * np.exp((j - i) * math.log(c))))
            else:
                K = 0.0
            numerator = np.float64(i**2 * self.b + float(self.B @ self.B)) + 2 * i * self.b * np.float64(K)
            return float(numerator / (i**3 * self.epsilon) - g_old / (i - 1))

    def _lower_bound(self, i: int, g_old: float) -> float:
        c = self.C_theta
        with np.errstate(over="ignore", invalid="ignore"):
            if c == 1.0 or c < 0:
                correction = np.float64(1.0)
            elif c == 0.0:
                correction = np.float64(math.inf)
            else:
                correction = np.exp(-(i - 1) * np.float64(math.log(c)))
            spread = self.b / i + (i - 1) * (i - 2) / i**2 * self.b * correction + float(self.B @ self.B) / i**3
            lower = float((1.0 - math.sqrt(2.0 * (1.0 - self.epsilon))) * spread - g_old / (i - 1))
        return -1.0 if math.isnan(lower) else lower

    def state_dict(self) -> dict:
        """Everything needed to continue the walk exactly, including the random generator's state, as plain
        Python values (loadable by torch.load(weights_only=True))."""
        walk = {
            key: value.tolist() if isinstance(value, np.ndarray) else value
            for key, value in vars(self).items()
            if key != "rng"
        }
        return {**walk, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            if key == "rng":
                self.rng.bit_generator.state = value
            else:
                setattr(self, key, np.array(value, dtype=np.float64) if key in self.VECTORS else value)
