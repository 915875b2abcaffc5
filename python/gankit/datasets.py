"""Seeded toy datasets for GAN experiments, as float32 NumPy arrays of shape (n, dim).

The Gaussian mixtures ("ring", "grid", "gaussian_1d") come with their geometry as a
`Mixture`, so `gankit.metrics.mode_scores` can score generated samples against it:

    data = datasets.ring(n=50_000, seed=0)          # float32 (50000, 2)
    mix = datasets.mixture("ring")                  # the same geometry, for metrics
    scores = metrics.mode_scores(generated, mix)

"digits" is the 8x8 handwritten-digit set of scikit-learn (an optional extra).
Every function checks its arguments: a TypeError or ValueError names the function, the
argument, what was expected and what was given.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

MIXTURES = ("ring", "grid", "gaussian_1d")
DATASETS = MIXTURES + ("digits",)
DEFAULT_N = 50_000
DIGITS_COUNT = 1797
MAX_COUNT = 2**31 - 1  # samples: the core's row limit (gankit._core.MAX_ROWS)
MAX_MODES = 2**20      # mixture components: beyond this the centres alone would fill memory


# -- argument checks ------------------------------------------------------------------
def _describe(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def _positive_int(value, name: str, where: str) -> int:
    expected = f"{where}: {name} must be a positive integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{expected}, got {_describe(value)}")
    if value < 1:
        raise ValueError(f"{expected}, got {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{expected} at most {MAX_COUNT}, got {value}")
    return int(value)


def _finite_real(value, name: str, where: str, *, positive: bool = False) -> float:
    expected = f"{where}: {name} must be a {'positive ' if positive else ''}finite number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{expected}, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{expected}, got {value}")
    return value


def _seed(value, where: str) -> Optional[int]:
    if value is None:
        return None
    expected = f"{where}: seed must be None or an integer >= 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{expected}, got {_describe(value)}")
    if value < 0:
        raise ValueError(f"{expected}, got {value}")
    return int(value)


def _real_vector(values, name: str, where: str) -> np.ndarray:
    """A non-empty 1-D float64 array of finite reals from a sequence."""
    expected = f"{where}: {name} must be a non-empty sequence of finite numbers"
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{expected}, got {_describe(values)}")
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"{expected}, got {name}[{i}] = {_describe(v)}")
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{expected}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{expected}, got {array.tolist()}")
    return array


def _weights(weights, modes: int, where: str) -> np.ndarray:
    """Normalised float64 weights (uniform when None)."""
    if weights is None:
        return np.full(modes, 1.0 / modes)
    w = _real_vector(weights, "weights", where)
    if w.size != modes:
        raise ValueError(f"{where}: weights must have one entry per mode ({modes}), "
                         f"got {w.size} entries")
    if np.any(w < 0) or not w.sum() > 0:
        raise ValueError(f"{where}: weights must be non-negative with a positive sum, "
                         f"got {w.tolist()}")
    return w / w.sum()


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
        where = "Mixture"
        try:
            centers = np.array(self.centers, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{where}: centers must be a (modes, dim) array of numbers, "
                            f"got {_describe(self.centers)}") from exc
        if centers.ndim != 2 or centers.shape[0] < 1 or centers.shape[1] < 1:
            raise ValueError(f"{where}: centers must be a non-empty (modes, dim) array, "
                             f"got shape {centers.shape}")
        if not np.all(np.isfinite(centers)):
            raise ValueError(f"{where}: centers must be finite, got {centers.tolist()}")
        std = _finite_real(self.std, "std", where, positive=True)
        weights = _weights(self.weights, centers.shape[0], where)
        if not isinstance(self.name, str):
            raise TypeError(f"{where}: name must be a str, got {_describe(self.name)}")
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
        n = _positive_int(n, "n", where)
        rng = np.random.default_rng(_seed(seed, where))
        modes = rng.choice(self.modes, size=n, p=self.weights)
        noise = rng.standard_normal((n, self.dim))
        with np.errstate(over="ignore", invalid="ignore"):
            samples = (self.centers[modes] + self.std * noise).astype(np.float32)
        if not np.all(np.isfinite(samples)):
            raise ValueError(f"{where}: the samples overflow float32 (centres up to "
                             f"{np.abs(self.centers).max():.3g}, std {self.std:.3g}); expected "
                             f"a mixture whose samples stay below 3.4e38")
        return samples


# -- the named mixtures ---------------------------------------------------------------
def _ring(modes, radius, std, where: str) -> Mixture:
    modes = _positive_int(modes, "modes", where)
    if modes > MAX_MODES:
        raise ValueError(f"{where}: modes must be at most {MAX_MODES}, got {modes}")
    radius = _finite_real(radius, "radius", where, positive=True)
    std = _finite_real(std, "std", where, positive=True)
    angles = 2.0 * np.pi * np.arange(modes) / modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Mixture(centers, std, None, "ring")


def _grid(side, spacing, std, where: str) -> Mixture:
    side = _positive_int(side, "side", where)
    if side * side > MAX_MODES:
        raise ValueError(f"{where}: side must be at most {math.isqrt(MAX_MODES)} (side**2 modes), "
                         f"got {side}")
    spacing = _finite_real(spacing, "spacing", where, positive=True)
    std = _finite_real(std, "std", where, positive=True)
    axis = spacing * (np.arange(side) - (side - 1) / 2.0)
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    centers = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return Mixture(centers, std, None, "grid")


def _gaussian_1d(means, std, weights, where: str) -> Mixture:
    centers = _real_vector(means, "means", where)[:, None]
    std = _finite_real(std, "std", where, positive=True)
    return Mixture(centers, std, _weights(weights, centers.shape[0], where), "gaussian_1d")


def ring_mixture(modes: int = 8, radius: float = 1.0, std: float = 0.01) -> Mixture:
    """`modes` equally weighted Gaussians with centres equally spaced on the circle of
    `radius` around the origin (the first at angle 0), each with standard deviation `std`.
    Returns a 2-D Mixture named "ring"; raises TypeError/ValueError for bad arguments."""
    return _ring(modes, radius, std, "ring_mixture")


def grid_mixture(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """side*side equally weighted Gaussians on a square grid centred on the origin with
    `spacing` between neighbours; the defaults give centres {-4, -2, 0, 2, 4}^2 (PacGAN).
    Returns a 2-D Mixture named "grid"; raises TypeError/ValueError for bad arguments."""
    return _grid(side, spacing, std, "grid_mixture")


def gaussian_1d_mixture(means: Sequence[float] = (0.0,), std: float = 1.0,
                        weights: Optional[Sequence[float]] = None) -> Mixture:
    """A 1-D mixture of Gaussians at `means`, all with standard deviation `std`, weighted
    by `weights` (normalised; uniform when None). The default is N(0, 1).
    Returns a 1-D Mixture named "gaussian_1d"; raises TypeError/ValueError for bad arguments."""
    return _gaussian_1d(means, std, weights, "gaussian_1d_mixture")


def mixture(name: str, **kwargs) -> Mixture:
    """The Mixture of the named dataset ("ring", "grid" or "gaussian_1d"), built with the
    keyword arguments of ring_mixture / grid_mixture / gaussian_1d_mixture, so samples of
    a named dataset can be scored. Raises ValueError for another name ("digits" has no
    mixture geometry) and TypeError for an unknown keyword."""
    builders = {"ring": ring_mixture, "grid": grid_mixture, "gaussian_1d": gaussian_1d_mixture}
    if not isinstance(name, str) or name not in builders:
        raise ValueError(f"mixture: name must be one of {', '.join(map(repr, MIXTURES))}, "
                         f"got {name!r}")
    return builders[name](**kwargs)


# -- data -----------------------------------------------------------------------------
def ring(n: int = DEFAULT_N, modes: int = 8, radius: float = 1.0, std: float = 0.01,
         seed: Optional[int] = 0) -> np.ndarray:
    """`n` samples of ring_mixture(modes, radius, std) as float32 (n, 2), drawn from
    numpy.random.default_rng(seed). Raises TypeError/ValueError for bad arguments."""
    return _ring(modes, radius, std, "ring")._sample(n, seed, "ring")


def grid(n: int = DEFAULT_N, side: int = 5, spacing: float = 2.0, std: float = 0.05,
         seed: Optional[int] = 0) -> np.ndarray:
    """`n` samples of grid_mixture(side, spacing, std) as float32 (n, 2), drawn from
    numpy.random.default_rng(seed). Raises TypeError/ValueError for bad arguments."""
    return _grid(side, spacing, std, "grid")._sample(n, seed, "grid")


def gaussian_1d(n: int = DEFAULT_N, means: Sequence[float] = (0.0,), std: float = 1.0,
                weights: Optional[Sequence[float]] = None, seed: Optional[int] = 0) -> np.ndarray:
    """`n` samples of gaussian_1d_mixture(means, std, weights) as float32 (n, 1), drawn
    from numpy.random.default_rng(seed). Raises TypeError/ValueError for bad arguments."""
    return _gaussian_1d(means, std, weights, "gaussian_1d")._sample(n, seed, "gaussian_1d")


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
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"load: name must be one of {', '.join(map(repr, DATASETS))}, got {name!r}")
    seed = _seed(seed, "load")
    if name == "digits":
        if n is None:
            return digits()
        n = _positive_int(n, "n", "load")
        if n > DIGITS_COUNT:
            raise ValueError(f"load: n must be at most {DIGITS_COUNT} for 'digits' "
                             f"(the number of images), got {n}")
        data = digits()
        rows = np.random.default_rng(seed).choice(data.shape[0], size=n, replace=False)
        return data[rows]
    n = DEFAULT_N if n is None else _positive_int(n, "n", "load")
    return mixture(name)._sample(n, seed, "load")
