"""Seeded toy datasets for GAN experiments, as float32 NumPy arrays of shape (n, dim).

The Gaussian mixtures ("ring", "grid", "gaussian_1d") come with their geometry as a
`Mixture`, so `gankit.metrics.mode_scores` can score generated samples against it:

    data = datasets.ring(n=50_000, seed=0)          # float32 (50000, 2)
    mix = datasets.mixture("ring")                  # the same geometry, for metrics
    scores = metrics.mode_scores(generated, mix)

"digits" is the 8x8 handwritten-digit set of scikit-learn (an optional extra).
Every function checks its arguments (gankit._validation): a TypeError or ValueError
names the argument, what was expected and what was given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from . import _validation as check

MIXTURES = ("ring", "grid", "gaussian_1d")
DATASETS = MIXTURES + ("digits",)
DEFAULT_N = 50_000
DIGITS_COUNT = 1797
# Samples one call may draw: check.MAX_ROWS, the core's row limit (check.count).
MAX_MODES = 2**20                # mixture components: beyond this the centres alone would fill memory
MAX_SIDE = math.isqrt(MAX_MODES)  # grid side: side**2 modes


# -- the mixture ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Mixture:
    """An isotropic Gaussian mixture: mode i is N(centers[i], std**2 I) with probability
    weights[i].

    centers: float64 (modes, dim); std: the per-coordinate standard deviation shared by
    all modes; weights: float64 (modes,), normalised to sum to 1 (uniform when None);
    name: the dataset it describes. The arrays are stored as read-only copies.
    Raises TypeError/ValueError (naming the field) for malformed fields.
    """
    centers: np.ndarray
    std: float
    weights: Optional[np.ndarray] = None
    name: str = "mixture"

    def __post_init__(self):
        centers = np.array(check.real_matrix(self.centers, "centers", shape="(modes, dim)"))
        std = check.positive_number(self.std, "std")
        weights = check.weights(self.weights, "weights", centers.shape[0])
        if not isinstance(self.name, str):
            raise TypeError(f"name: expected a str, got {check.brief(self.name)} "
                            f"({type(self.name).__name__})")
        centers.setflags(write=False)
        weights.setflags(write=False)
        object.__setattr__(self, "centers", centers)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "weights", weights)

    @property
    def modes(self) -> int:
        """The number of mixture components."""
        return int(self.centers.shape[0])

    @property
    def dim(self) -> int:
        """The dimension of a sample."""
        return int(self.centers.shape[1])

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """`n` samples as float32 (n, dim): each picks a mode by `weights` and adds
        N(0, std**2) noise per coordinate, drawn from numpy.random.default_rng(seed).
        Raises TypeError/ValueError for a bad n or seed."""
        return self._sample(n, seed, "Mixture.sample")

    def _sample(self, n, seed, where: str) -> np.ndarray:
        n = check.count(n, "n")
        rng = np.random.default_rng(check.numpy_seed(seed))
        modes = rng.choice(self.modes, size=n, p=self.weights)
        noise = rng.standard_normal((n, self.dim))
        with np.errstate(over="ignore", invalid="ignore"):
            samples = (self.centers[modes] + self.std * noise).astype(np.float32)
        if not np.all(np.isfinite(samples)):
            raise ValueError(f"{where}: expected a mixture whose samples stay below 3.4e38, got "
                             f"centres up to {np.abs(self.centers).max():.3g} and std "
                             f"{self.std:.3g}, whose samples overflow float32")
        return samples


# -- the named mixtures ---------------------------------------------------------------
def ring_mixture(modes: int = 8, radius: float = 1.0, std: float = 0.01) -> Mixture:
    """`modes` equally weighted Gaussians with centres equally spaced on the circle of
    `radius` around the origin (the first at angle 0), each with standard deviation `std`;
    the defaults are the 2-D ring of PacGAN (Lin et al. 2018).
    Returns a 2-D Mixture named "ring"; raises TypeError/ValueError for bad arguments."""
    modes = check.integer(modes, "modes", low=1, high=MAX_MODES)
    radius = check.positive_number(radius, "radius")
    std = check.positive_number(std, "std")
    angles = 2.0 * np.pi * np.arange(modes) / modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Mixture(centers, std, None, "ring")


def grid_mixture(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """side*side equally weighted Gaussians on a square grid centred on the origin with
    `spacing` between neighbours; the defaults give centres {-4, -2, 0, 2, 4}^2, the 2-D
    grid of PacGAN (Lin et al. 2018).
    Returns a 2-D Mixture named "grid"; raises TypeError/ValueError for bad arguments."""
    side = check.integer(side, "side", low=1, high=MAX_SIDE)
    spacing = check.positive_number(spacing, "spacing")
    std = check.positive_number(std, "std")
    axis = spacing * (np.arange(side) - (side - 1) / 2.0)
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    centers = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return Mixture(centers, std, None, "grid")


def gaussian_1d_mixture(means: Sequence[float] = (0.0,), std: float = 1.0,
                        weights: Optional[Sequence[float]] = None) -> Mixture:
    """A 1-D mixture of Gaussians at `means`, all with standard deviation `std`, weighted
    by `weights` (normalised; uniform when None). The default is N(0, 1).
    Returns a 1-D Mixture named "gaussian_1d"; raises TypeError/ValueError for bad arguments."""
    centers = check.real_vector(means, "means")[:, None]
    std = check.positive_number(std, "std")
    return Mixture(centers, std, check.weights(weights, "weights", centers.shape[0]), "gaussian_1d")


def mixture(name: str, **kwargs) -> Mixture:
    """The Mixture of the named dataset ("ring", "grid" or "gaussian_1d"), built with the
    keyword arguments of ring_mixture / grid_mixture / gaussian_1d_mixture, so samples of
    a named dataset can be scored. Raises ValueError for another name ("digits" has no
    mixture geometry) and TypeError for an unknown keyword."""
    builders = {"ring": ring_mixture, "grid": grid_mixture, "gaussian_1d": gaussian_1d_mixture}
    return builders[check.choice(name, "name", MIXTURES)](**kwargs)


# -- data -----------------------------------------------------------------------------
def ring(n: int = DEFAULT_N, modes: int = 8, radius: float = 1.0, std: float = 0.01,
         seed: Optional[int] = 0) -> np.ndarray:
    """`n` samples of ring_mixture(modes, radius, std) as float32 (n, 2), drawn from
    numpy.random.default_rng(seed). Raises TypeError/ValueError for bad arguments."""
    return ring_mixture(modes, radius, std)._sample(n, seed, "ring")


def grid(n: int = DEFAULT_N, side: int = 5, spacing: float = 2.0, std: float = 0.05,
         seed: Optional[int] = 0) -> np.ndarray:
    """`n` samples of grid_mixture(side, spacing, std) as float32 (n, 2), drawn from
    numpy.random.default_rng(seed). Raises TypeError/ValueError for bad arguments."""
    return grid_mixture(side, spacing, std)._sample(n, seed, "grid")


def gaussian_1d(n: int = DEFAULT_N, means: Sequence[float] = (0.0,), std: float = 1.0,
                weights: Optional[Sequence[float]] = None, seed: Optional[int] = 0) -> np.ndarray:
    """`n` samples of gaussian_1d_mixture(means, std, weights) as float32 (n, 1), drawn
    from numpy.random.default_rng(seed). Raises TypeError/ValueError for bad arguments."""
    return gaussian_1d_mixture(means, std, weights)._sample(n, seed, "gaussian_1d")


def digits() -> np.ndarray:
    """The 1797 8x8 handwritten digits of scikit-learn (bundled with it, no download) as
    float32 (1797, 64), pixel values scaled from [0, 16] to [-1, 1].
    Raises ImportError if scikit-learn is not installed."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError('digits: needs scikit-learn; install it with pip install "gankit[digits]" '
                          '(or pip install scikit-learn)') from exc
    pixels = np.asarray(load_digits().data, dtype=np.float64)
    return (pixels / 8.0 - 1.0).astype(np.float32)


def load(name: str, n: Optional[int] = None, seed: Optional[int] = 0) -> np.ndarray:
    """The named dataset as float32 (n, dim): "ring", "grid" and "gaussian_1d" with their
    default geometry (n samples, default 50_000, drawn with `seed`), or "digits": all 1797
    images in scikit-learn's order when n is None, else n distinct images chosen with
    `seed` (n <= 1797). Raises ValueError for an unknown name or a bad n, TypeError for a
    wrongly typed argument, ImportError for "digits" without scikit-learn."""
    name = check.choice(name, "name", DATASETS)
    seed = check.numpy_seed(seed)
    if name == "digits":
        if n is None:
            return digits()
        n = check.integer(n, "n", low=1, high=DIGITS_COUNT)  # distinct images
        data = digits()
        rows = np.random.default_rng(seed).choice(data.shape[0], size=n, replace=False)
        return data[rows]
    n = DEFAULT_N if n is None else check.count(n, "n")
    return mixture(name)._sample(n, seed, "load")
