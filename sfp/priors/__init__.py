"""Stage 2, the prior: every prior model, its training, checkpoints and loading for RL."""
