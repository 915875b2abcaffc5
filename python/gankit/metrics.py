"""Sample-quality metrics for GANs (float64 arithmetic).

- mode_scores: modes captured, high-quality fraction and reverse KL of the mode
  histogram against a known Gaussian mixture (VEEGAN, Srivastava et al. 2017; PacGAN,
  Lin et al. 2018).
- mmd2: unbiased squared maximum mean discrepancy with a Gaussian kernel.
- nn1_accuracy: the leave-one-out 1-nearest-neighbour two-sample test.

This module checks the arguments and defines the semantics; the O(n * modes) and O(n^2)
loops run in Cython (gankit._metrics) without the GIL, over rows in parallel with OpenMP
on gankit.set_num_threads() threads, with results that do not depend on that number.
Distances are sums of squared differences (exact for repeated points), and no n x n
matrix is ever held in memory. tests/metrics_reference.py is the NumPy reference they are
checked against. Inputs are (n, dim) arrays of real numbers; a TypeError (not real
numbers) or ValueError (not 2-D, empty, not finite, mismatched dims) names the argument,
what was expected and what was given.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from . import _core, _metrics
from .datasets import Mixture

# Floor on the true mode weights inside the reverse KL so a zero-weight mode stays finite.
KL_EPSILON = 1e-12
# The median heuristic uses at most this many pooled points (a seeded subsample).
MEDIAN_SUBSAMPLE = 1000
# Below this many flops per thread a parallel region costs more (waking the team) than
# the work it splits; the core uses the same bound.
_MIN_FLOPS_PER_THREAD = 2.0e5
# Largest |value| accepted in samples and bandwidths: squared distances of such values
# (summed over up to 2**24 dimensions) and 1 / (2 bandwidth^2) stay far inside
# float64's range, so no metric can overflow into inf or NaN.
MAX_MAGNITUDE = 1e100


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
    array = np.ascontiguousarray(array, dtype=np.float64)   # what the Cython loops read
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


# -- threads --------------------------------------------------------------------------
def _threads_for(rows: int, flops_per_row: float) -> int:
    """Threads worth using for `rows` rows of `flops_per_row` each, at most gankit's
    thread count: small problems stay serial. The result never changes the answer."""
    by_work = int(rows * flops_per_row / _MIN_FLOPS_PER_THREAD)
    return max(1, min(_core.num_threads(), rows, by_work))


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

    # assigned[i]: the nearest mode of sample i when it is high quality, else -1.
    assigned = np.empty(x.shape[0], dtype=np.int64)
    _metrics.assign_to_centres(x, np.ascontiguousarray(mixture.centers), radius * radius, assigned,
                               _threads_for(x.shape[0], 3.0 * mixture.modes * mixture.dim))
    counts = np.bincount(assigned[assigned >= 0], minlength=mixture.modes).astype(np.int64)

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
# Flops of one Gaussian kernel term beyond the distance: exp costs tens of them.
_EXP_FLOPS = 20.0


def _kernel_sum_within(a: np.ndarray, gamma: float) -> float:
    """sum over i != j of exp(-gamma |a_i - a_j|^2): twice the strict upper triangle."""
    row_sums = np.empty(a.shape[0])
    _metrics.gaussian_row_sums_within(a, gamma, row_sums, _threads_for(
        a.shape[0], 0.5 * a.shape[0] * (3.0 * a.shape[1] + _EXP_FLOPS)))
    return 2.0 * float(np.sum(row_sums))      # rows in a fixed order: thread-independent


def _kernel_sum_between(a: np.ndarray, b: np.ndarray, gamma: float) -> float:
    """sum over all i, j of exp(-gamma |a_i - b_j|^2)."""
    row_sums = np.empty(a.shape[0])
    _metrics.gaussian_row_sums_between(a, b, gamma, row_sums, _threads_for(
        a.shape[0], b.shape[0] * (3.0 * a.shape[1] + _EXP_FLOPS)))
    return float(np.sum(row_sums))


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
    n = pooled.shape[0]
    if n < 2:
        return 1.0
    distances = np.empty(n * (n - 1) // 2)
    _metrics.pair_distances(pooled, distances, _threads_for(n, 0.5 * n * 3.0 * pooled.shape[1]))
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
    rows, their column counts differ, or a value or the bandwidth lies beyond
    MAX_MAGNITUDE (or, for the bandwidth, below its inverse).
    """
    where = "mmd2"
    x = _samples(x, "x", where, min_rows=2)
    y = _samples(y, "y", where, min_rows=2)
    _same_dim(x, y, ("x", "y"), where)
    if bandwidth is None:
        bandwidth = _median_distance(x, y)
    else:
        bandwidth = _positive_real(bandwidth, "bandwidth", where)
    gamma = 0.5 / bandwidth / bandwidth
    m, n = x.shape[0], y.shape[0]
    kxx = _kernel_sum_within(x, gamma) / (m * (m - 1))
    kyy = _kernel_sum_within(y, gamma) / (n * (n - 1))
    kxy = _kernel_sum_between(x, y, gamma) / (m * n)
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
    n = pooled.shape[0]
    nearest = np.empty(n, dtype=np.int64)
    _metrics.nearest_other_points(pooled, nearest, _threads_for(n, n * 3.0 * pooled.shape[1]))
    is_y = np.arange(n) >= x.shape[0]
    correct = is_y[nearest] == is_y
    return 0.5 * (float(correct[~is_y].mean()) + float(correct[is_y].mean()))
