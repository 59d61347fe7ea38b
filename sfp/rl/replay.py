"""Replay buffer of the downstream RL stage: episodes of any length, HER, n-step returns, prior windows and PER.

Storage is a ring of `size` rows, one row per transition t of an episode of length L:
  observation (size, *obs_shape)  o_t (uint8 = round(255 x) for images, float32 otherwise)
  act (size, A), rew (size,), terminal (size,), ret (size,) discounted return-to-go from t
  window (size, W)                the prior's action window at s_t (W = n*A)
  achieved_goal_next (size, G)    ag_{t+1}, the achieved goal after the step (goal-conditioned only)
  desired_goal (size, G)          dg_t (goal-conditioned only)
  position, length (size,)        t and L, so every row knows its episode's rows
The state after the last step (o_L and the window at s_L) is kept in `final_*` arrays at the episode's last row.
Episodes are contiguous (modulo `size`) and always whole: storing an episode first evicts the oldest episodes
until it fits, so no sample can mix rows of two episodes. The stored rows form one ring segment
[oldest, oldest + count).

Sampling (all vectorised over the batch): a row t, then k <= N steps summed: k stops at the episode end and
after the first true terminal. With HER (`future` strategy) the desired goal g of a row is replaced, with
probability 1 - 1/(1+replay_k), by ag_{f+1} for f uniform in [t, L); the rewards of every row are then
r_{t+m} = reward_fn(ag_{t+m+1}, g), and obs and obs2 both carry g. Without HER the stored rewards are summed.

PER is proportional: P_i = p_i / sum_j p_j with leaf p_i = (priority + epsilon)^alpha (a negative or non-finite
priority raises ValueError); a new transition gets the largest (priority + epsilon) seen so far (initially 1).
Importance weights w_i = (N P_i)^-beta / max_j w_j, where the maximum is over ALL stored transitions (the leaf of
smallest probability), so w_i = (p_i / p_min)^-beta <= 1.
beta anneals linearly from per_beta to 1 as `progress` goes from 0 to 1.
"""

import json
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.signal
import torch

from sfp.errors import UserError
from sfp.rl.sum_tree import SumTree

RewardFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class ReplayBatch(NamedTuple):
    """A sampled batch: float32 tensors on the buffer's device. B batch, D the agent's input width (observation and
    goal; images (3, 64, 64)), A action width, W window width (n*A); k <= n_step the steps summed."""

    obs: torch.Tensor  # (B, D) s_t (with the possibly relabelled goal)
    obs2: torch.Tensor  # (B, D) s_{t+k}, the state the k-step target bootstraps from (same goal)
    act: torch.Tensor  # (B, A) a_t
    rew: torch.Tensor  # (B,) sum_m gamma^m r_{t+m}, clipped to the reward range with clip_rew
    done: torch.Tensor  # (B,) 1 when a true terminal ends the k steps
    discount: torch.Tensor  # (B,) gamma^k
    window: torch.Tensor  # (B, W) the prior's action window at s_t
    window2: torch.Tensor  # (B, W) the window at s_{t+k}
    weights: torch.Tensor  # (B,) PER importance weights (ones without PER)
    ret: torch.Tensor | None = None  # (B,) the discounted return-to-go from t (SIL)


class ReplayEpisode(NamedTuple):
    """One finished episode of L >= 1 steps, as `ReplayBuffer.store_episode` takes it (numpy arrays; each is
    cast to the stored dtype). Step t goes from state s_t to s_{t+1}, so the per-state arrays have L+1 rows and
    the per-step arrays L. The goals are needed when the buffer is goal-conditioned (goal_dim G > 0) and are
    ignored otherwise."""

    observation: np.ndarray  # (L+1, *obs_shape) o_0..o_L, float (images: in [0, 1], or already uint8)
    act: np.ndarray  # (L, A) float32, the action stored for step t
    rew: np.ndarray  # (L,) float32, r_t
    terminal: np.ndarray  # (L,) bool, True when step t reached a true terminal (never for truncation)
    window: np.ndarray  # (L+1, W) float32, the prior's action window at s_0..s_L (W = n*A)
    achieved_goal: np.ndarray | None = None  # (L+1, G) float, ag_0..ag_L
    desired_goal: np.ndarray | None = None  # (L+1, G) float, dg_0..dg_L


FINAL_STATE_KEYS = ("observation", "window")


def discounted_return_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """C_t = r_t + gamma C_{t+1} over one episode: (L,) -> (L,) float32."""
    return scipy.signal.lfilter([1.0], [1.0, -gamma], np.asarray(rewards, np.float64)[::-1])[::-1].astype(np.float32)


class ReplayBuffer:
    def __init__(
        self,
        obs_shape,
        goal_dim: int,
        act_dim: int,
        window_dim: int,
        size: int,
        gamma: float,
        n_step: int,
        her: bool,
        replay_k: float,
        reward_fn: RewardFn | None,
        clip_rew: bool,
        reward_range=(0.0, 1.0),
        prioritize: bool = False,
        per_alpha: float = 0.6,
        per_beta: float = 0.4,
        per_epsilon: float = 1e-5,
        device="cpu",
        seed: int = 0,
        image_obs: bool = False,
    ):
        if size < 1 or n_step < 1:
            raise ValueError(f"replay size ({size}) and n_step ({n_step}) must be at least 1")
        if her and (goal_dim == 0 or reward_fn is None):
            raise ValueError("HER needs goal-conditioned episodes (goal_dim > 0) and a reward_fn")
        if image_obs and goal_dim:
            raise ValueError("image observations carry no goal: use goal_dim=0 with image_obs")
        self.obs_shape = tuple(obs_shape)
        self.goal_dim, self.act_dim, self.window_dim = goal_dim, act_dim, window_dim
        self.size, self.gamma, self.n_step = size, gamma, n_step
        self.her, self.future_p, self.reward_fn = her, 1.0 - 1.0 / (1.0 + replay_k), reward_fn
        self.clip_rew, self.reward_range = clip_rew, tuple(reward_range)
        self.prioritize, self.per_alpha, self.per_beta, self.per_epsilon = prioritize, per_alpha, per_beta, per_epsilon
        self.device, self.image_obs = torch.device(device), image_obs
        self._rng = np.random.default_rng(seed)

        try:
            self._rows, self._finals = self._allocate()
        except MemoryError:
            raise UserError(
                f"a replay buffer of {size} transitions does not fit in memory: lower --replay_size"
            ) from None
        self._oldest = 0  # first row of the oldest stored episode
        self._count = 0  # stored transitions
        self._filled = 0  # rows ever written (high-water mark, <= size)
        self._max_priority = 1.0
        self._tree = SumTree(size) if prioritize else None

    def _allocate(self):
        """Uninitialised row arrays (size, ...) and final-state arrays; pages are only committed when written."""
        size, goal_dim = self.size, self.goal_dim
        rows = {
            "observation": np.empty((size, *self.obs_shape), np.uint8 if self.image_obs else np.float32),
            "act": np.empty((size, self.act_dim), np.float32),
            "rew": np.empty(size, np.float32),
            "terminal": np.empty(size, bool),
            "ret": np.empty(size, np.float32),
            "window": np.empty((size, self.window_dim), np.float32),
            "position": np.empty(size, np.int64),
            "length": np.empty(size, np.int64),
        }
        if goal_dim:
            rows["achieved_goal_next"] = np.empty((size, goal_dim), np.float32)
            rows["desired_goal"] = np.empty((size, goal_dim), np.float32)
        return rows, {key: np.empty_like(rows[key]) for key in FINAL_STATE_KEYS}

    def __len__(self) -> int:
        return self._count

    @property
    def _priority_tree(self) -> SumTree:
        """PER's sum tree, which a buffer has exactly when it was built with prioritize=True."""
        assert self._tree is not None, "only a prioritized replay buffer has a sum tree"
        return self._tree

    # ------------------------------------------------------------------ storing
    def store_episode(self, episode: ReplayEpisode) -> None:
        """Append one episode (shapes and dtypes: ReplayEpisode), evicting the oldest whole episodes if needed."""
        length = self._check_episode(episode)
        evicted = self._make_room(length)
        rows = (self._oldest + self._count + np.arange(length)) % self.size
        stored = self._rows
        observation = self._encode_observation(np.asarray(episode.observation))
        stored["observation"][rows] = observation[:length]
        stored["act"][rows] = episode.act
        stored["rew"][rows] = episode.rew
        stored["terminal"][rows] = episode.terminal
        stored["ret"][rows] = discounted_return_to_go(episode.rew, self.gamma)
        window = np.asarray(episode.window)
        stored["window"][rows] = window[:length]
        stored["position"][rows] = np.arange(length)
        stored["length"][rows] = length
        if self.goal_dim:
            stored["achieved_goal_next"][rows] = np.asarray(episode.achieved_goal)[1:]
            stored["desired_goal"][rows] = np.asarray(episode.desired_goal)[:length]
        self._finals["observation"][rows[-1]] = observation[length]
        self._finals["window"][rows[-1]] = window[length]
        self._count += length
        self._filled = min(self.size, self._filled + length)
        if self.prioritize:
            new_leaf = self._max_priority**self.per_alpha
            self._priority_tree.update(
                np.concatenate([evicted, rows]), np.concatenate([np.zeros(len(evicted)), np.full(length, new_leaf)])
            )

    def _check_episode(self, episode: ReplayEpisode) -> int:
        """Length L of a well-formed episode; ValueError naming the first missing or inconsistent array."""
        if not isinstance(episode, ReplayEpisode):
            raise TypeError(f"store_episode takes a ReplayEpisode, not {type(episode).__name__}")
        length = len(episode.act)
        if length < 1:
            raise ValueError("cannot store an empty episode")
        if length > self.size:
            raise UserError(
                f"an episode of {length} steps does not fit a replay buffer of {self.size} "
                f"transitions: raise --replay_size to at least {length}"
            )
        expected = {
            "observation": (length + 1, *self.obs_shape),
            "act": (length, self.act_dim),
            "rew": (length,),
            "terminal": (length,),
            "window": (length + 1, self.window_dim),
        }
        if self.goal_dim:
            missing = [key for key in ("achieved_goal", "desired_goal") if getattr(episode, key) is None]
            if missing:
                raise ValueError(
                    f"the episode lacks {' and '.join(missing)}, which a goal-conditioned replay buffer "
                    f"(goal_dim {self.goal_dim}) needs"
                )
            expected["achieved_goal"] = expected["desired_goal"] = (length + 1, self.goal_dim)
        for key, shape in expected.items():
            if np.shape(getattr(episode, key)) != shape:
                raise ValueError(f"episode.{key} has shape {np.shape(getattr(episode, key))}, expected {shape}")
        return length

    def _make_room(self, length: int) -> np.ndarray:
        """Evict the oldest whole episodes until `length` more rows fit; return the evicted rows."""
        evicted = []
        while self._count + length > self.size:
            old_length = int(self._rows["length"][self._oldest])
            evicted.append((self._oldest + np.arange(old_length)) % self.size)
            self._oldest = (self._oldest + old_length) % self.size
            self._count -= old_length
        return np.concatenate(evicted) if evicted else np.empty(0, np.int64)

    def _encode_observation(self, observation: np.ndarray) -> np.ndarray:
        if not self.image_obs or observation.dtype == np.uint8:
            return observation
        return np.clip(np.rint(observation * 255.0), 0, 255).astype(np.uint8)

    def _decode_observation(self, observation: np.ndarray) -> np.ndarray:
        if self.image_obs:
            return observation.astype(np.float32) / np.float32(255.0)
        return observation

    # ----------------------------------------------------------------- sampling
    def sample(self, batch_size: int, progress: float = 0.0, force_uniform: bool = False):
        """A ReplayBatch and its rows idx (B,) int64.
        `progress` in [0, 1] anneals PER's beta; `force_uniform` samples uniformly even with PER (SIL)."""
        if self._count == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if self.prioritize and not force_uniform:
            rows, weights = self._sample_prioritized(batch_size, progress)
        else:
            rows = (self._oldest + self._rng.integers(0, self._count, batch_size)) % self.size
            weights = np.ones(batch_size, np.float32)
        batch = {**self._assemble(rows), "weights": weights}
        tensors = {
            key: torch.as_tensor(np.asarray(value, np.float32), device=self.device) for key, value in batch.items()
        }
        return ReplayBatch(**tensors), rows.astype(np.int64)

    def per_beta_at(self, progress: float) -> float:
        """PER's importance exponent: per_beta at progress 0, rising linearly to 1 at progress 1."""
        return self.per_beta + (1.0 - self.per_beta) * float(np.clip(progress, 0.0, 1.0))

    def _sample_prioritized(self, batch_size: int, progress: float):
        tree = self._priority_tree
        rows = tree.find_prefix_sum(self._rng.random(batch_size) * tree.total)
        weights = (tree.leaves(rows) / tree.min_positive) ** -self.per_beta_at(progress)
        return rows, weights

    def _assemble(self, rows: np.ndarray) -> dict:
        """Numpy batch (without weights) for transitions at `rows` (B,)."""
        position = self._rows["position"][rows]
        length = self._rows["length"][rows]
        start = rows - position  # first row of each episode, modulo size
        offsets = np.arange(self.n_step)
        step_position = position[:, None] + offsets  # (B, N)
        inside = step_position < length[:, None]
        step_rows = (start[:, None] + np.minimum(step_position, length[:, None] - 1)) % self.size
        terminal = self._rows["terminal"][step_rows] & inside
        terminal_before = (np.cumsum(terminal, axis=1) - terminal) > 0
        counted = inside & ~terminal_before  # (B, N) steps that enter the k-step sum
        steps = counted.sum(axis=1)
        goal = self._goals(rows, position, length, start) if self.goal_dim else None
        step_rewards = self._step_rewards(step_rows, goal)
        rew = (step_rewards * self.gamma**offsets * counted).sum(axis=1)
        if self.clip_rew:
            rew = np.clip(rew, *self.reward_range)
        position2 = position + steps
        obs = self._decode_observation(self._rows["observation"][rows])
        obs2 = self._decode_observation(self._state_at("observation", start, position2, length))
        if goal is not None:
            obs, obs2 = np.concatenate([obs, goal], axis=1), np.concatenate([obs2, goal], axis=1)
        return {
            "obs": obs,
            "obs2": obs2,
            "act": self._rows["act"][rows],
            "rew": rew,
            "done": (terminal & counted).any(axis=1),
            "discount": self.gamma**steps,
            "window": self._rows["window"][rows],
            "window2": self._state_at("window", start, position2, length),
            "ret": self._rows["ret"][rows],
        }

    def _goals(self, rows, position, length, start) -> np.ndarray:
        """Desired goal (B, G) of each sampled row, relabelled by HER's `future` strategy."""
        goal = self._rows["desired_goal"][rows]
        if not self.her:
            return goal
        relabel = self._rng.random(len(rows)) < self.future_p
        future = position + np.floor(self._rng.random(len(rows)) * (length - position)).astype(np.int64)
        future_goal = self._rows["achieved_goal_next"][(start + future) % self.size]
        return np.where(relabel[:, None], future_goal, goal)

    def _step_rewards(self, step_rows: np.ndarray, goal: np.ndarray | None) -> np.ndarray:
        """Rewards (B, N) of the steps at `step_rows`: recomputed for `goal` with HER, else as stored."""
        if not self.her:
            return self._rows["rew"][step_rows]
        # HER implies a reward_fn and goal_dim > 0 (checked in __init__), so _assemble passes the goals
        assert self.reward_fn is not None and goal is not None
        batch, n = step_rows.shape
        achieved = self._rows["achieved_goal_next"][step_rows].reshape(batch * n, self.goal_dim)
        rewards = self.reward_fn(achieved, np.repeat(goal, n, axis=0))
        return np.asarray(rewards, np.float32).reshape(batch, n)

    def _state_at(self, key: str, start, position, length) -> np.ndarray:
        """`key` at episode positions `position` (B,) in [0, L]; position L reads the episode's final state."""
        at_end = position >= length
        rows = (start + np.minimum(position, length - 1)) % self.size
        values = self._rows[key][rows]
        values[at_end] = self._finals[key][rows[at_end]]
        return values

    # ---------------------------------------------------------------- priorities
    def update_priorities(self, idx: np.ndarray, priorities) -> None:
        """Set the PER priority of rows `idx` (B,) to (priorities (B,) + epsilon)^alpha; rows evicted since they
        were sampled are skipped. Without PER the priorities are only checked."""
        idx = np.asarray(idx, np.int64).ravel()
        if isinstance(priorities, torch.Tensor):
            priorities = priorities.detach().cpu().numpy()
        priorities = np.asarray(priorities, np.float64).ravel()
        if priorities.shape != idx.shape:
            raise ValueError(f"{priorities.size} priorities for {idx.size} indices")
        if not np.all(np.isfinite(priorities)) or np.any(priorities < 0):
            raise ValueError("priorities must be finite and non-negative")
        if not self.prioritize:
            return
        stored = (idx - self._oldest) % self.size < self._count
        priorities = priorities[stored] + self.per_epsilon
        if priorities.size:
            self._max_priority = max(self._max_priority, float(priorities.max()))
        self._priority_tree.update(idx[stored], priorities**self.per_alpha)

    # ------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """Everything needed to resume bit-exactly: the written rows, final states, priorities and the RNG state
        (a JSON string). Only numpy arrays, numbers and strings: `np.savez(path, **state)` stores it without pickle."""
        filled = self._filled
        state = {
            "size": self.size,
            "oldest": self._oldest,
            "count": self._count,
            "filled": filled,
            "max_priority": self._max_priority,
            "rng_state": json.dumps(self._rng.bit_generator.state),
        }
        for key, array in self._rows.items():
            state[key] = array[:filled].copy()
        stored = (self._oldest + np.arange(self._count)) % self.size
        last_rows = stored[self._rows["position"][stored] == self._rows["length"][stored] - 1]
        state["final_rows"] = last_rows
        for key in FINAL_STATE_KEYS:
            state[f"final_{key}"] = self._finals[key][last_rows]
        if self.prioritize:
            state["priorities"] = self._priority_tree.leaves(np.arange(filled))
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore a `state_dict` (or the `np.load` of its `np.savez`) of a buffer built with the same arguments."""
        required = set(self._rows) | ({"priorities"} if self.prioritize else set())
        if state["size"] != self.size or required - set(state):
            raise ValueError("replay state was saved by a buffer of a different size or layout")
        filled = int(state["filled"])
        for key, array in self._rows.items():
            if state[key].shape != (filled, *array.shape[1:]):
                raise ValueError(
                    f"replay state {key!r} has shape {state[key].shape}, expected {(filled, *array.shape[1:])}"
                )
            array[:filled] = state[key]
        for key in FINAL_STATE_KEYS:
            self._finals[key][state["final_rows"]] = state[f"final_{key}"]
        self._oldest, self._count, self._filled = int(state["oldest"]), int(state["count"]), filled
        self._max_priority = float(state["max_priority"])
        self._rng.bit_generator.state = json.loads(str(state["rng_state"]))
        if self.prioritize:
            self._tree = SumTree(self.size)
            self._tree.update(np.arange(filled), state["priorities"])
