"""Behaviour-cloning data: shuffled (input, action) minibatches of an expert dataset as device tensors.

Input per row: [observations, goals] (B, S+G) when the agent is goal-conditioned, else observations (B, S).
Actions are clipped to ±0.995 so that atanh stays finite.
"""

import numpy as np
import torch

from sfp.data.dataset import ExpertData

ACTION_CLIP = 0.995


class ExpertBatches:
    """Iterable of (inputs (B,D), actions (B,A)) float32 tensors on `device`; a fresh shuffle per iteration
    (torch's global RNG); the last batch may be smaller."""

    def __init__(self, inputs: np.ndarray, actions: np.ndarray, batch_size: int, device: str | torch.device = "cpu"):
        self.inputs = torch.as_tensor(inputs, dtype=torch.float32, device=device)
        self.actions = torch.as_tensor(actions, dtype=torch.float32, device=device).clamp(-ACTION_CLIP, ACTION_CLIP)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return -(-len(self.actions) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.actions), device=self.actions.device)
        for rows in order.split(self.batch_size):
            yield self.inputs[rows], self.actions[rows]


def expert_batches(
    data: ExpertData, goal_cond: bool, batch_size: int, device: str | torch.device = "cpu"
) -> ExpertBatches:
    """BC minibatches of `data`, with the goals appended to the observations when `goal_cond`."""
    inputs = np.concatenate([data.observations, data.goals], axis=1) if goal_cond else data.observations
    return ExpertBatches(inputs, data.actions, batch_size, device)
