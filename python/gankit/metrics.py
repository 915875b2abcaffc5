"""Sample-quality metrics for GANs (float64 arithmetic).

- mode_scores: modes captured, high-quality fraction and reverse KL of the mode
  histogram against a known Gaussian mixture (VEEGAN, Srivastava et al. 2017; PacGAN,
  Lin et al. 2018).
- mmd2: unbiased squared maximum mean discrepancy with a Gaussian kernel (Gretton et
  al. 2012).
- nn1_accuracy: the leave-one-out 1-nearest-neighbour two-sample test.

This module checks the arguments and defines the semantics; the O(n * modes) and O(n^2)
loops run in Cython (gankit._metrics) without the GIL, over rows in parallel with OpenMP
on gankit.set_num_threads() threads, with results that do not depend on that number.
Distances are sums of squared differences (exact for repeated points), and no n x n
matrix is ever held in memory. tests/metrics_reference.py is the NumPy reference they are
checked against. Inputs are (n, dim) arrays of real numbers; a TypeError (not real
numbers) or ValueError (not 2-D, empty, not finite, mismatched dims) names the argument,
what was expected and what was given (the checks are gankit._validation's).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _core, _metrics
from . import _validation as check
from .datasets import Mixture

# Floor on the true mode weights inside the reverse KL so a zero-weight mode stays finite.
KL_EPSILON = 1e-12
# The median heuristic uses at most this many pooled points (a seeded subsample).
MEDIAN_SUBSAMPLE = 1000
# Below this many flops per thread a parallel region costs more (waking the team) than
# the work it splits; the core uses the same bound.
_MIN_FLOPS_PER_THREAD = 2.0e5
# Largest |value| accepted in samples and bandwidths (and the inverse of the smallest
# bandwidth): squared distances of such values, summed over any number of columns an
# array can have, and 1 / (2 bandwidth^2) stay far inside float64's range (1.8e308), so
# no metric can overflow into inf or NaN. A bound of the metrics, not of the core.
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
def _samples(value, name: str, *, min_rows: int = 1) -> np.ndarray:
    """`value` as the C-contiguous float64 (n, dim) array the Cython loops read."""
    return check.real_matrix(value, name, min_rows=min_rows, max_magnitude=MAX_MAGNITUDE)


def _scale(value, name: str) -> float:
    """A length (bandwidth, threshold) within [1 / MAX_MAGNITUDE, MAX_MAGNITUDE]."""
    return check.real_number(value, name, low=1 / MAX_MAGNITUDE, high=MAX_MAGNITUDE)


# -- threads --------------------------------------------------------------------------
def _threads_for(rows: int, flops_per_row: float) -> int:
    """Threads worth using for `rows` rows of `flops_per_row` each, at most gankit's
    thread count: small problems stay serial. The result never changes the answer."""
    by_work = int(rows * flops_per_row / _MIN_FLOPS_PER_THREAD)
    return max(1, min(_core.num_threads(), rows, by_work))


# -- mode scores ----------------------------------------------------------------------
def mode_scores(samples, mixture: Mixture, threshold_std: float = 3.0) -> ModeScores:
    """Score `samples` (n, dim) against the Gaussian `mixture` they should come from,
    with the three scores of PacGAN (Lin et al. 2018), after VEEGAN (Srivastava et al.
    2017): modes captured, high-quality fraction and reverse KL.

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
    array with values up to MAX_MAGNITUDE, or a threshold_std that is not a finite number
    in [1 / MAX_MAGNITUDE, MAX_MAGNITUDE].
    """
    if not isinstance(mixture, Mixture):
        raise TypeError(f"mixture: expected a gankit.datasets.Mixture, "
                        f"got {check.brief(mixture)} ({type(mixture).__name__})")
    x = _samples(samples, "samples")
    if x.shape[1] != mixture.dim:
        raise ValueError(f"samples: expected {mixture.dim} column(s) like the mixture, "
                         f"got shape {x.shape}")
    radius = _scale(threshold_std, "threshold_std") * mixture.std

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
    """The median heuristic (Gretton et al. 2012): the median Euclidean distance between the pairs of distinct
    points (i < j) of the pooled sample [x; y]. When there are more than MEDIAN_SUBSAMPLE
    points it uses MEDIAN_SUBSAMPLE * len(x) // (len(x) + len(y)) rows of x and likewise
    of y, each chosen with numpy.random.default_rng(0), so the result is deterministic and
    symmetric in x and y. If the median is 0 (many repeated points) it is the mean of the
    non-zero distances, and 1.0 when all points coincide. Returns a float; raises like
    nn1_accuracy."""
    x = _samples(x, "x")
    y = _samples(y, "y")
    check.same_columns(x, y, ("x", "y"))
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
    x = _samples(x, "x", min_rows=2)
    y = _samples(y, "y", min_rows=2)
    check.same_columns(x, y, ("x", "y"))
    if bandwidth is None:
        bandwidth = _median_distance(x, y)
    else:
        bandwidth = _scale(bandwidth, "bandwidth")
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
    y is not a finite non-empty 2-D array with values up to MAX_MAGNITUDE or their
    column counts differ.
    """
    x = _samples(x, "x")
    y = _samples(y, "y")
    check.same_columns(x, y, ("x", "y"))
    pooled = np.concatenate([x, y])
    n = pooled.shape[0]
    nearest = np.empty(n, dtype=np.int64)
    _metrics.nearest_other_points(pooled, nearest, _threads_for(n, n * 3.0 * pooled.shape[1]))
    is_y = np.arange(n) >= x.shape[0]
    correct = is_y[nearest] == is_y
    return 0.5 * (float(correct[~is_y].mean()) + float(correct[is_y].mean()))
