"""The priority tree of prioritized experience replay, vectorised over batches.

A complete binary tree over `capacity` non-negative leaves (capacity rounded up to a power of two), stored as one
heap array: node 1 is the root, node i has children 2i and 2i+1, leaf j is node capacity + j. Every inner node
holds the sum of its leaves and, alongside, the smallest POSITIVE leaf below it (zero leaves are empty slots and
never count as the minimum). Updates and prefix-sum searches take whole batches and walk the tree level by level
with array operations.
"""

import numpy as np


class SumTree:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"a sum tree needs at least one leaf, got capacity {capacity}")
        self.depth = int(np.ceil(np.log2(capacity))) if capacity > 1 else 0
        self.capacity = 1 << self.depth
        self._sums = np.zeros(2 * self.capacity, np.float64)
        self._mins = np.full(2 * self.capacity, np.inf)

    @property
    def total(self) -> float:
        """Sum of all leaves."""
        return float(self._sums[1])

    @property
    def min_positive(self) -> float:
        """Smallest positive leaf (inf when every leaf is zero)."""
        return float(self._mins[1])

    def leaves(self, indices: np.ndarray) -> np.ndarray:
        """Leaf values (B,) float64 at `indices` (B,)."""
        return self._sums[np.asarray(indices, np.int64) + self.capacity]

    def update(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Set leaves `indices` (B,) to `values` (B,) >= 0; for a repeated index the last value wins."""
        indices = np.asarray(indices, np.int64).ravel()
        values = np.broadcast_to(np.asarray(values, np.float64), indices.shape)
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("sum-tree values must be finite and non-negative")
        if indices.size == 0:
            return
        if indices.min() < 0 or indices.max() >= self.capacity:
            raise IndexError(f"leaf index outside [0, {self.capacity})")
        unique, last_in_reversed = np.unique(indices[::-1], return_index=True)
        nodes = unique + self.capacity
        leaf_values = values[::-1][last_in_reversed]
        self._sums[nodes] = leaf_values
        self._mins[nodes] = np.where(leaf_values > 0, leaf_values, np.inf)
        for _ in range(self.depth):
            nodes = np.unique(nodes // 2)
            left = 2 * nodes
            self._sums[nodes] = self._sums[left] + self._sums[left + 1]
            self._mins[nodes] = np.minimum(self._mins[left], self._mins[left + 1])

    def find_prefix_sum(self, prefix: np.ndarray) -> np.ndarray:
        """Leaf indices (B,): for each value v of `prefix` (B,) in [0, total), the leaf j with
        sum(leaves[:j]) <= v < sum(leaves[:j+1]). Only positive leaves are ever returned, even when rounding
        pushes v to the edge of a subtree."""
        if self.total <= 0:
            raise ValueError("cannot search a sum tree whose leaves are all zero")
        remaining = np.asarray(prefix, np.float64).copy()
        nodes = np.ones(remaining.shape, np.int64)
        for _ in range(self.depth):
            left = 2 * nodes
            left_sum = self._sums[left]
            go_right = (remaining >= left_sum) & (self._sums[left + 1] > 0)
            remaining = np.where(go_right, remaining - left_sum, remaining)
            nodes = np.where(go_right, left + 1, left)
        return nodes - self.capacity
