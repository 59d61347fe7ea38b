"""Colored action noise for SAC's behaviour policy (`--action_noise pink`, the pink-noise baseline).

Instead of i.i.d. standard normal ε, the policy acts with a = tanh(μ(s) + σ(s)·ε_t), where ε_t is step t of one
colored-noise sequence per action dimension and episode: Gaussian, unit variance per step, power spectrum ∝ 1/f^β
(β = 0 white, 1 pink, 2 red). The sequences come from the `pink` package (pink-noise-rl, its ColoredNoiseProcess),
one block of shape (A, episode budget) drawn at every reset; gradient updates keep i.i.d. noise. The generator is
a numpy Generator of its own, so its state (and the block in use, with the position in it) goes into a checkpoint.

The package divides by the spectrum's power without its DC term (and with half the Nyquist power), so its output's
variance is a little above 1 (1.08 for pink noise of 512 steps, 1.30 for red); `output_variance` is that exact
value, and ε is divided by its square root so that every step has unit variance, as white noise does.
"""

import numpy as np
from pink import ColoredNoiseProcess

STREAM = 0x70696E6B  # the seed stream of action noise, apart from the other generators seeded by the run's seed


def output_variance(beta: float, length: int) -> float:
    """Per-step variance of the package's sequences of `length` steps (no low-frequency cutoff): the power of its
    Fourier components (DC and, for even lengths, Nyquist real-valued) over the power it normalises by."""
    frequency = np.fft.rfftfreq(length)
    frequency[0] = frequency[1]  # the package's cutoff at 1/length
    power = frequency**-beta
    nyquist = power[-1] if length % 2 == 0 else 0.0
    return float((2.0 * power[0] + 4.0 * power[1:].sum() - 2.0 * nyquist) / (4.0 * power[1:].sum() - 3.0 * nyquist))


class EpisodeNoise:
    """ε for one step at a time: sample() -> (A,) float32, the next step of this episode's sequences.

    beta: spectrum exponent; act_dim: A; episode_len: the episode's step budget (the sequence length, at least 2);
    seed: the run's seed. Call reset() at every episode start (draws new sequences).
    """

    def __init__(self, beta: float, act_dim: int, episode_len: int, seed: int):
        self.rng = np.random.default_rng([seed, STREAM])
        length = max(episode_len, 2)
        self.process = ColoredNoiseProcess(
            beta, (act_dim, length), scale=output_variance(beta, length) ** -0.5, rng=self.rng
        )

    def reset(self) -> None:
        self.process.reset()

    def sample(self) -> np.ndarray:
        return self.process.sample().astype(np.float32)

    def state_dict(self) -> dict:
        """The sequences of the current episode, the position in them and the generator's state."""
        return {"buffer": self.process.buffer.copy(), "idx": self.process.idx, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.process.buffer = np.array(state["buffer"])
        self.process.idx = int(state["idx"])
        self.rng.bit_generator.state = state["rng"]


def episode_noise_from_params(params, act_dim: int, episode_len: int) -> EpisodeNoise | None:
    """The behaviour noise a run asks for: None for 'white' (the agent's own i.i.d. noise)."""
    if params.action_noise == "white":
        return None
    return EpisodeNoise(params.noise_beta, act_dim, episode_len, params.seed)
