"""Sample-quality metrics for GANs, in plain NumPy (float64 arithmetic).

- mode_scores: modes captured, high-quality fraction and reverse KL of the mode
  histogram against a known Gaussian mixture (VEEGAN, Srivastava et al. 2017; PacGAN,
  Lin et al. 2018).
- mmd2: unbiased squared maximum mean discrepancy with a Gaussian kernel.
- nn1_accuracy: the leave-one-out 1-nearest-neighbour two-sample test.

Pairwise distances are computed in row blocks so memory stays bounded for large inputs.
This module is also the reference for faster implementations. Inputs are (n, dim) arrays
of real numbers; a TypeError (not real numbers) or ValueError (not 2-D, empty, not finite,
mismatched dims) names the argument, what was expected and what was given.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import numpy as np

from .datasets import Mixture

# Floor on the true mode weights inside the reverse KL so a zero-weight mode stays finite.
KL_EPSILON = 1e-12
# The median heuristic uses at most this many pooled points (a seeded subsample).
MEDIAN_SUBSAMPLE = 1000
# Largest |value| accepted in samples and bandwidths: squared distances of such values
# (summed over up to 2**24 dimensions) stay far inside float64's range.
MAX_MAGNITUDE = 1e100
# Entries of one block of a distance matrix (2**21 float64 = 16 MiB).
_BLOCK_ENTRIES = 1 << 21


@dataclass(frozen=True, eq=False)
class ModeScores:
    """The mode-coverage scores of a set of samples against a Gaussian mixture.

    modes_captured: modes with at least one high-quality sample; modes_total: the
    mixture's number of modes; high_quality_fraction: the share of samples within
    threshold_std standard deviations of their nearest centre; reverse_kl:
    KL(generated mode histogram || true mode weights) (see mode_scores); counts: int64
    (modes,) high-quality samples assigned to each mode.
    """
    modes_captured: int
    modes_total: int
    high_quality_fraction: float
    reverse_kl: float
    counts: np.ndarray

    def as_dict(self) -> dict:
        """The scores as plain Python values (counts as a list), e.g. for JSON logs."""
        return {"modes_captured": self.modes_captured, "modes_total": self.modes_total,
                "high_quality_fraction": self.high_quality_fraction,
                "reverse_kl": self.reverse_kl, "counts": self.counts.tolist()}


# -- argument checks ------------------------------------------------------------------
def _samples(value, name: str, where: str, *, min_rows: int = 1) -> np.ndarray:
    """`value` as a float64 (n, dim) array with n >= min_rows, dim >= 1, all finite."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        raise TypeError(f"{where}: {name} must be a 2-D (n, dim) array of real numbers, got a "
                        f"{type(value).__name__} NumPy cannot read as one") from None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{where}: {name} must be an array of real numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        hint = " (use x.reshape(-1, 1) for 1-D data)" if array.ndim == 1 else ""
        raise ValueError(f"{where}: {name} must be a 2-D (n, dim) array{hint}, got shape {array.shape}")
    if array.shape[0] < min_rows or array.shape[1] < 1:
        raise ValueError(f"{where}: {name} must have at least {min_rows} row(s) and 1 column, "
                         f"got shape {array.shape}")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{where}: {name} must be finite, got {int(np.sum(~np.isfinite(array)))} "
                         f"NaN or infinite value(s)")
    largest = float(np.abs(array).max())
    if largest > MAX_MAGNITUDE:
        raise ValueError(f"{where}: {name} must have values of magnitude at most {MAX_MAGNITUDE:g} "
                         f"(so squared distances stay finite in float64), got {largest:g}")
    return array


def _same_dim(x: np.ndarray, y: np.ndarray, names: Tuple[str, str], where: str) -> None:
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{where}: {names[0]} and {names[1]} must have the same number of columns, "
                         f"got {x.shape[1]} and {y.shape[1]}")


def _positive_real(value, name: str, where: str) -> float:
    expected = f"{where}: {name} must be a positive finite number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{expected}, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{expected}, got {value}")
    if not 1 / MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        raise ValueError(f"{expected} between {1 / MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, got {value}")
    return value


# -- distances ------------------------------------------------------------------------
def _row_blocks(rows: int, columns: int) -> Iterator[slice]:
    """Slices of `rows` such that a block times `columns` stays near _BLOCK_ENTRIES."""
    step = max(1, _BLOCK_ENTRIES // max(1, columns))
    for start in range(0, rows, step):
        yield slice(start, min(rows, start + step))


def _sq_distances(a: np.ndarray, b: np.ndarray, b_sq: Optional[np.ndarray] = None) -> np.ndarray:
    """Squared Euclidean distances (len(a), len(b)) as |a|^2 + |b|^2 - 2 a.b (one matrix
    product), clipped at 0 against rounding; b_sq: the precomputed |b|^2."""
    if b_sq is None:
        b_sq = np.einsum("ij,ij->i", b, b)
    a_sq = np.einsum("ij,ij->i", a, a)
    d2 = a_sq[:, None] + b_sq[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0, out=d2)


# -- mode scores ----------------------------------------------------------------------
def mode_scores(samples, mixture: Mixture, threshold_std: float = 3.0) -> ModeScores:
    """Score `samples` (n, dim) against the Gaussian `mixture` they should come from.

    Each sample is assigned to its nearest centre (Euclidean; ties go to the lower mode
    index). It is high quality if that distance is <= threshold_std * mixture.std. A mode
    is captured if it has at least one high-quality sample. reverse_kl is
    KL(p || q) = sum_i p_i log(p_i / q_i), where p is the histogram of high-quality
    samples over modes (normalised) and q the mixture weights; empty bins of p contribute
    0 (0 log 0 = 0), and q is floored at KL_EPSILON so a zero-weight mode gives a large
    but finite value. With no high-quality sample at all, p is undefined and reverse_kl
    is the worst value any histogram can reach, log(1 / max(min_i q_i, KL_EPSILON)) (all
    samples in the rarest mode). Tiny negative rounding results are clipped to 0.

    Returns a ModeScores. Raises TypeError if mixture is not a Mixture or samples are not
    real numbers, ValueError for samples that are not a finite non-empty (n, mixture.dim)
    array or a threshold_std that is not positive and finite.
    """
    where = "mode_scores"
    if not isinstance(mixture, Mixture):
        raise TypeError(f"{where}: mixture must be a gankit.datasets.Mixture, "
                        f"got {type(mixture).__name__}")
    x = _samples(samples, "samples", where)
    if x.shape[1] != mixture.dim:
        raise ValueError(f"{where}: samples must have {mixture.dim} column(s) like the mixture, "
                         f"got shape {x.shape}")
    radius = _positive_real(threshold_std, "threshold_std", where) * mixture.std

    centers = mixture.centers
    counts = np.zeros(mixture.modes, dtype=np.int64)
    for rows in _row_blocks(x.shape[0], mixture.modes * mixture.dim):
        # Differences rather than |a|^2 + |b|^2 - 2ab: exact near the centres.
        d2 = np.sum((x[rows, None, :] - centers[None, :, :]) ** 2, axis=2)
        nearest = np.argmin(d2, axis=1)
        good = d2[np.arange(nearest.size), nearest] <= radius * radius
        counts += np.bincount(nearest[good], minlength=mixture.modes)

    q = np.maximum(mixture.weights, KL_EPSILON)
    total = int(counts.sum())
    if total == 0:
        reverse_kl = float(np.log(1.0 / q.min()))
    else:
        p = counts / total
        used = p > 0
        reverse_kl = max(0.0, float(np.sum(p[used] * np.log(p[used] / q[used]))))
    return ModeScores(modes_captured=int(np.count_nonzero(counts)), modes_total=mixture.modes,
                      high_quality_fraction=total / x.shape[0], reverse_kl=reverse_kl,
                      counts=counts)


# -- MMD ------------------------------------------------------------------------------
def _kernel_sum(a: np.ndarray, b: np.ndarray, gamma: float, skip_diagonal: bool) -> float:
    """sum_ij exp(-gamma |a_i - b_j|^2), without the i == j terms if skip_diagonal (a is b)."""
    b_sq = np.einsum("ij,ij->i", b, b)
    total = 0.0
    for rows in _row_blocks(a.shape[0], b.shape[0]):
        k = np.exp(-gamma * _sq_distances(a[rows], b, b_sq))
        if skip_diagonal:
            k[np.arange(k.shape[0]), np.arange(rows.start, rows.stop)] = 0.0
        total += float(k.sum())
    return total


def median_bandwidth(x, y) -> float:
    """The median heuristic: the median Euclidean distance between the pairs of distinct
    points (i < j) of the pooled sample [x; y]. When there are more than MEDIAN_SUBSAMPLE
    points it uses MEDIAN_SUBSAMPLE * len(x) // (len(x) + len(y)) rows of x and likewise
    of y, each chosen with numpy.random.default_rng(0), so the result is deterministic and
    symmetric in x and y. If the median is 0 (many repeated points) it is the mean of the
    non-zero distances, and 1.0 when all points coincide. Returns a float; raises like
    nn1_accuracy."""
    where = "median_bandwidth"
    x = _samples(x, "x", where)
    y = _samples(y, "y", where)
    _same_dim(x, y, ("x", "y"), where)
    return _median_distance(x, y)


def _median_distance(x: np.ndarray, y: np.ndarray) -> float:
    total = x.shape[0] + y.shape[0]
    if total > MEDIAN_SUBSAMPLE:
        parts = []
        for part in (x, y):
            keep = MEDIAN_SUBSAMPLE * part.shape[0] // total
            parts.append(part[np.random.default_rng(0).choice(part.shape[0], keep, replace=False)])
        x, y = parts
    pooled = np.concatenate([x, y])
    i, j = np.triu_indices(pooled.shape[0], k=1)
    distances = np.sqrt(_sq_distances(pooled, pooled)[i, j])
    if distances.size == 0:
        return 1.0
    median = float(np.median(distances))
    if median > 0:
        return median
    positive = distances[distances > 0]
    return float(positive.mean()) if positive.size else 1.0


def mmd2(x, y, bandwidth: Optional[float] = None) -> float:
    """The unbiased estimate of MMD^2 between the distributions of x (m, dim) and
    y (n, dim) with the Gaussian kernel k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2)):

        1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
        - 2/(mn) sum_{i,j} k(x_i, y_j)

    bandwidth None uses median_bandwidth(x, y). The estimate is unbiased, so it can be
    slightly negative when the distributions are equal. Returns a float. Raises TypeError
    for non-numeric input, ValueError if x or y is not a finite 2-D array with at least 2
    rows, their column counts differ, or bandwidth is not positive and finite.
    """
    where = "mmd2"
    x = _samples(x, "x", where, min_rows=2)
    y = _samples(y, "y", where, min_rows=2)
    _same_dim(x, y, ("x", "y"), where)
    if bandwidth is None:
        bandwidth = _median_distance(x, y)
    else:
        bandwidth = _positive_real(bandwidth, "bandwidth", where)
    gamma = 1.0 / (2.0 * bandwidth * bandwidth)
    m, n = x.shape[0], y.shape[0]
    kxx = _kernel_sum(x, x, gamma, skip_diagonal=True) / (m * (m - 1))
    kyy = _kernel_sum(y, y, gamma, skip_diagonal=True) / (n * (n - 1))
    kxy = _kernel_sum(x, y, gamma, skip_diagonal=False) / (m * n)
    return kxx + kyy - 2.0 * kxy


# -- 1-NN two-sample test -------------------------------------------------------------
def nn1_accuracy(x, y) -> float:
    """Leave-one-out accuracy of the 1-nearest-neighbour classifier telling x (m, dim)
    from y (n, dim) (Lopez-Paz & Oquab 2017; Xu et al. 2018).

    Every point of the pooled sample is labelled by its nearest other point (Euclidean;
    ties go to the earlier point of [x; y], so x before y). The result is the balanced
    accuracy, the mean of the accuracy on the x points and on the y points. Equal sizes
    are expected; then it equals the plain accuracy. With unequal sizes the balanced form
    keeps chance level near 0.5 where the plain accuracy would not. 0.5: x and y are
    indistinguishable; 1: fully separated; near 0: y copies x point by point.

    Returns a float in [0, 1]. Raises TypeError for non-numeric input, ValueError if x or
    y is not a finite non-empty 2-D array or their column counts differ.
    """
    where = "nn1_accuracy"
    x = _samples(x, "x", where)
    y = _samples(y, "y", where)
    _same_dim(x, y, ("x", "y"), where)
    pooled = np.concatenate([x, y])
    is_y = np.arange(pooled.shape[0]) >= x.shape[0]
    pooled_sq = np.einsum("ij,ij->i", pooled, pooled)
    correct = np.empty(pooled.shape[0], dtype=bool)
    for rows in _row_blocks(pooled.shape[0], pooled.shape[0]):
        d2 = _sq_distances(pooled[rows], pooled, pooled_sq)
        d2[np.arange(d2.shape[0]), np.arange(rows.start, rows.stop)] = np.inf
        correct[rows] = is_y[np.argmin(d2, axis=1)] == is_y[rows]
    return 0.5 * (float(correct[~is_y].mean()) + float(correct[is_y].mean()))
