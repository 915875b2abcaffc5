"""An independent float64 NumPy reference of gankit.metrics, written from the formulas.

Everything is vectorised NumPy over row blocks (memory stays bounded), so it also serves
as the NumPy baseline of benchmarks/metrics.py. Squared distances come in two forms:
- "differences": sum_k (a_k - b_k)^2, exact for repeated points and with exact ties on
  integer data, like gankit's Cython loops: what the tests compare against;
- "gram": |a|^2 + |b|^2 - 2 a.b with one BLAS product per block, clipped at 0: the fastest
  form in NumPy (and what gankit.metrics computed before its Cython loops), off by
  rounding near zero: what the benchmark times.
No argument checking: callers pass float64 (n, dim) arrays that gankit.metrics accepts.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

KL_EPSILON = 1e-12
MEDIAN_SUBSAMPLE = 1000
# Entries of one block of a distance matrix (2**21 float64 = 16 MiB).
BLOCK_ENTRIES = 1 << 21
METHODS = ("differences", "gram")


class ModeScores(NamedTuple):
    counts: np.ndarray           # int64 (modes,): high-quality samples per mode
    modes_captured: int
    high_quality_fraction: float
    reverse_kl: float


# -- distances ------------------------------------------------------------------------
def row_blocks(rows: int, columns: int, block_entries: int = BLOCK_ENTRIES) -> Iterator[slice]:
    """Slices of `rows` such that a block times `columns` stays near block_entries."""
    step = max(1, block_entries // max(1, columns))
    for start in range(0, rows, step):
        yield slice(start, min(rows, start + step))


def sq_distances(a: np.ndarray, b: np.ndarray, method: str = "differences") -> np.ndarray:
    """Squared Euclidean distances, (len(a), len(b)), by `method` (see the module doc)."""
    if method == "differences":
        return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=2)
    if method == "gram":
        a_sq = np.einsum("ij,ij->i", a, a)
        b_sq = np.einsum("ij,ij->i", b, b)
        d2 = a_sq[:, None] + b_sq[None, :] - 2.0 * (a @ b.T)
        return np.maximum(d2, 0.0, out=d2)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _block_entries(b: np.ndarray, method: str) -> int:
    # The differences form holds a (rows, len(b), dim) temporary.
    return len(b) * (b.shape[1] if method == "differences" else 1)


# -- mode scores ----------------------------------------------------------------------
def assign_to_centres(x: np.ndarray, centres: np.ndarray, radius: float) -> np.ndarray:
    """int64 (n,): the nearest centre of each row (ties: lowest index) when within
    `radius` of it (squared distances compared), else -1."""
    assigned = np.empty(x.shape[0], dtype=np.int64)
    for rows in row_blocks(x.shape[0], _block_entries(centres, "differences")):
        d2 = sq_distances(x[rows], centres)
        nearest = np.argmin(d2, axis=1)
        good = d2[np.arange(nearest.size), nearest] <= radius * radius
        assigned[rows] = np.where(good, nearest, -1)
    return assigned


def mode_scores(x: np.ndarray, centres: np.ndarray, std: float, weights: np.ndarray,
                threshold_std: float = 3.0) -> ModeScores:
    """Modes captured, high-quality fraction and KL(p || max(q, KL_EPSILON)) of the
    histogram p of high-quality samples over modes against the weights q (VEEGAN/PacGAN);
    with no high-quality sample, the worst value log(1 / min q)."""
    assigned = assign_to_centres(x, centres, threshold_std * std)
    counts = np.bincount(assigned[assigned >= 0], minlength=len(centres)).astype(np.int64)
    q = np.maximum(weights, KL_EPSILON)
    total = int(counts.sum())
    if total == 0:
        kl = float(np.log(1.0 / q.min()))
    else:
        p = counts / total
        used = p > 0
        kl = max(0.0, float(np.sum(p[used] * np.log(p[used] / q[used]))))
    return ModeScores(counts, int(np.count_nonzero(counts)), total / len(x), kl)


# -- MMD ------------------------------------------------------------------------------
def kernel_sum(a: np.ndarray, b: np.ndarray, gamma: float, skip_diagonal: bool,
               method: str = "differences") -> float:
    """sum_ij exp(-gamma |a_i - b_j|^2), without the i == j terms if skip_diagonal (a is b)."""
    total = 0.0
    for rows in row_blocks(a.shape[0], _block_entries(b, method)):
        k = np.exp(-gamma * sq_distances(a[rows], b, method))
        if skip_diagonal:
            k[np.arange(k.shape[0]), np.arange(rows.start, rows.stop)] = 0.0
        total += float(k.sum())
    return total


def subsample_for_median(x: np.ndarray, y: np.ndarray):
    """At most MEDIAN_SUBSAMPLE pooled rows: MEDIAN_SUBSAMPLE * len(part) // total rows of
    each part, chosen with numpy.random.default_rng(0) (the documented rule)."""
    total = len(x) + len(y)
    if total <= MEDIAN_SUBSAMPLE:
        return x, y
    return tuple(part[np.random.default_rng(0).choice(len(part), MEDIAN_SUBSAMPLE * len(part) // total,
                                                      replace=False)]
                 for part in (x, y))


def pair_distances(points: np.ndarray, method: str = "differences") -> np.ndarray:
    """Euclidean distances of the pairs i < j in numpy.triu_indices order."""
    columns = np.arange(len(points))
    parts = [np.empty(0)]
    for rows in row_blocks(len(points), _block_entries(points, method)):
        d2 = sq_distances(points[rows], points, method)
        parts.append(d2[columns[None, :] > columns[rows, None]])   # row-major: triu order
    return np.sqrt(np.concatenate(parts))


def median_distance(x: np.ndarray, y: np.ndarray, method: str = "differences") -> float:
    """The median heuristic: median pairwise distance of the (subsampled) pooled sample;
    the mean of the non-zero distances if that median is 0; 1.0 if all points coincide."""
    x, y = subsample_for_median(x, y)
    distances = pair_distances(np.concatenate([x, y]), method)
    if distances.size == 0:
        return 1.0
    median = float(np.median(distances))
    if median > 0:
        return median
    positive = distances[distances > 0]
    return float(positive.mean()) if positive.size else 1.0


def mmd2(x: np.ndarray, y: np.ndarray, bandwidth=None, method: str = "differences") -> float:
    """Unbiased MMD^2 with k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2)); bandwidth None:
    median_distance(x, y)."""
    if bandwidth is None:
        bandwidth = median_distance(x, y, method)
    gamma = 1.0 / (2.0 * bandwidth * bandwidth)
    m, n = len(x), len(y)
    return (kernel_sum(x, x, gamma, True, method) / (m * (m - 1))
            + kernel_sum(y, y, gamma, True, method) / (n * (n - 1))
            - 2.0 * kernel_sum(x, y, gamma, False, method) / (m * n))


# -- 1-NN two-sample test -------------------------------------------------------------
def nearest_other_points(points: np.ndarray, method: str = "differences") -> np.ndarray:
    """int64 (n,): for each row, the index of its nearest other row (ties: lowest index)."""
    nearest = np.empty(len(points), dtype=np.int64)
    for rows in row_blocks(len(points), _block_entries(points, method)):
        d2 = sq_distances(points[rows], points, method)
        d2[np.arange(d2.shape[0]), np.arange(rows.start, rows.stop)] = np.inf
        nearest[rows] = np.argmin(d2, axis=1)
    return nearest


def nn1_accuracy(x: np.ndarray, y: np.ndarray, method: str = "differences") -> float:
    """Balanced leave-one-out 1-NN accuracy on the pooled sample [x; y]."""
    pooled = np.concatenate([x, y])
    is_y = np.arange(len(pooled)) >= len(x)
    correct = is_y[nearest_other_points(pooled, method)] == is_y
    return 0.5 * (float(correct[~is_y].mean()) + float(correct[is_y].mean()))
