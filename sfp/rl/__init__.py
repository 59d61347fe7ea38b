"""Stage 3, downstream RL: SAC + HER with the prior mixture, every baseline, the training loop and its runs."""
