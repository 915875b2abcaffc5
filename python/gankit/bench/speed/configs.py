"""The networks the throughput benchmark trains, their shared initial state, and the
minimal matmul FLOPs of one training iteration.

Every framework's worker builds its networks from these definitions and starts from the
same Glorot-uniform weights and the same real batch, so all of them do the same work.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

# The optimizer and activation settings of the benchmark's iteration, for every framework.
LEARNING_RATE = 1e-4
BETA1, BETA2, EPS = 0.5, 0.999, 1e-8
SLOPE = 0.2


@dataclass(frozen=True)
class Config:
    """A generator g_sizes[0] -> ... -> g_sizes[-1] against a discriminator
    d_sizes[0] -> ... -> 1 (a logit), trained on batches of `batch` rows."""

    name: str
    g_sizes: Tuple[int, ...]
    d_sizes: Tuple[int, ...]
    batch: int
    g_output: Optional[str] = None  # the generator's output activation: None or "tanh"
    note: str = ""

    @property
    def noise_dim(self) -> int:
        return self.g_sizes[0]

    @property
    def data_dim(self) -> int:
        return self.d_sizes[0]

    def describe(self) -> str:
        out = " (tanh out)" if self.g_output else ""
        return (f"G {'→'.join(map(str, self.g_sizes))}{out}, "
                f"D {'→'.join(map(str, self.d_sizes))}, batch {self.batch}")


CONFIGS = {
    "toy2d": Config("toy2d", (2, 128, 128, 2), (2, 128, 128, 1), 256),
    "digits": Config("digits", (32, 128, 256, 64), (64, 256, 128, 1), 128),
    "mnist64": Config("mnist64", (100, 256, 512, 1024, 784), (784, 512, 256, 1), 64, "tanh"),
    "mnist256": Config("mnist256", (100, 256, 512, 1024, 784), (784, 512, 256, 1), 256, "tanh"),
    # Not in the default set: a smoke-test size where per-call overhead is everything.
    "tiny": Config("tiny", (4, 16, 3), (3, 16, 1), 16, note="smoke test; not in the default set"),
}
DEFAULT_CONFIGS = ("toy2d", "digits", "mnist64", "mnist256")

FLOP_FORMULA = (
    "FLOPs/iteration = 2·B·(4·ΣG − g₁ + 8·ΣD − 2·d₁), where ΣG = Σ fan_in·fan_out over G's "
    "layers, ΣD the same over D's, g₁ and d₁ the first layers' fan_in·fan_out. From 2·m·n·k per "
    "product — D step: G forward on B rows (ΣG), D forward, D weight gradients and D input "
    "gradients except the first layer on 2B rows (ΣD + ΣD + ΣD − d₁); G step on B rows: G "
    "forward (ΣG), D forward (ΣD), D input gradients of every layer (ΣD), G weight gradients "
    "(ΣG), G input gradients except the first layer (ΣG − g₁). Biases, activations, losses, "
    "noise and Adam are not counted.")


def layer_products(sizes: Sequence[int]) -> List[int]:
    """fan_in·fan_out of each dense layer of an MLP with these sizes."""
    return [a * b for a, b in zip(sizes[:-1], sizes[1:])]


def minimal_flops(config: Config) -> int:
    """The matmul FLOPs one k=1 iteration cannot avoid (the formula in FLOP_FORMULA)."""
    g, d = layer_products(config.g_sizes), layer_products(config.d_sizes)
    sum_g, sum_d = sum(g), sum(d)
    d_step = config.batch * sum_g + 2 * config.batch * (3 * sum_d - d[0])
    g_step = config.batch * (sum_d + sum_d + sum_g + sum_g + sum_g - g[0])
    return 2 * (d_step + g_step)


def glorot_weights(sizes: Sequence[int], seed: int) -> List[Tuple[np.ndarray, np.ndarray]]:
    """[(W, b), ...] with W (fan_in, fan_out) ~ U(±sqrt(6 / (fan_in + fan_out))), b = 0,
    float32: the starting point every framework copies."""
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)
        weights.append((w, np.zeros(fan_out, np.float32)))
    return weights


def initial_state(config: Config, seed: int = 0):
    """(G weights, D weights, real batch): the real batch is fixed random data in [-1, 1)
    of the data's width, the same every iteration (the benchmark times the training step,
    not data loading)."""
    g_seed, d_seed, data_seed = np.random.SeedSequence(seed).generate_state(3)
    real = np.random.default_rng(data_seed).uniform(-1, 1, (config.batch, config.data_dim))
    return (glorot_weights(config.g_sizes, int(g_seed)), glorot_weights(config.d_sizes, int(d_seed)),
            real.astype(np.float32))


def parse_config_names(text: str) -> List[str]:
    """'toy2d,mnist64' -> ['toy2d', 'mnist64']; 'all' -> the default set."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return list(DEFAULT_CONFIGS)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or not names:
        raise ValueError(f"--configs: expected comma-separated names from {sorted(CONFIGS)} "
                         f"or 'all', got {text!r}")
    return names
