# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The hot loops of gankit.metrics, over float64 C-contiguous arrays, without the GIL.

Each kernel gives every output row to one OpenMP thread, which computes that row's value
alone and writes it to the output; the caller reduces the rows in a fixed order. So
results are bitwise the same at any thread count. Distances are sums of squared
coordinate differences, exact for equal points (|a|^2 + |b|^2 - 2 a.b is not), with
float64 accumulation throughout.

gankit.metrics checks the values (finite, shapes, dtype) and the public API promises;
the kernels check only the shapes they index with, since they run without bounds checks.
"""
from cython.parallel cimport prange
from libc.math cimport exp, sqrt
from libc.stdint cimport int64_t

cdef extern from *:
    """
    #ifdef _OPENMP
    #define GANKIT_METRICS_OPENMP 1
    #else
    #define GANKIT_METRICS_OPENMP 0
    #endif
    """
    int GANKIT_METRICS_OPENMP

cdef enum:
    # Rows handed out at a time where row costs differ (the triangular loops).
    TRIANGLE_CHUNK = 16


def has_openmp():
    """True when this module was compiled with OpenMP (else every kernel runs serially)."""
    return GANKIT_METRICS_OPENMP == 1


cdef int require(bint holds, str message) except -1:
    if not holds:
        raise ValueError(f"gankit._metrics: {message}")
    return 0


cdef inline double sq_distance(const double* a, const double* b, Py_ssize_t dim) noexcept nogil:
    # Four running sums break the add latency chain on wide rows; the fixed order of
    # combining them keeps the result the same wherever it is computed. Exact if a == b.
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef double d0, d1, d2, d3
    cdef Py_ssize_t k = 0
    if dim == 2:       # the 2-D mixtures: no loop overhead per pair (same sums as below)
        d0 = a[0] - b[0]
        d1 = a[1] - b[1]
        return d0 * d0 + d1 * d1
    while k + 4 <= dim:
        d0 = a[k] - b[k]
        d1 = a[k + 1] - b[k + 1]
        d2 = a[k + 2] - b[k + 2]
        d3 = a[k + 3] - b[k + 3]
        s0 = s0 + d0 * d0
        s1 = s1 + d1 * d1
        s2 = s2 + d2 * d2
        s3 = s3 + d3 * d3
        k = k + 4
    while k < dim:
        d0 = a[k] - b[k]
        s0 = s0 + d0 * d0
        k = k + 1
    return (s0 + s1) + (s2 + s3)


def assign_to_centres(const double[:, ::1] samples, const double[:, ::1] centres,
                      double radius_sq, int64_t[::1] assigned, int num_threads):
    """assigned[i] = the index of the centre nearest to samples[i] (ties: the lowest) if
    their squared distance is <= radius_sq, else -1. O(n * modes * dim)."""
    cdef Py_ssize_t n = samples.shape[0], modes = centres.shape[0], dim = samples.shape[1]
    require(modes >= 1 and centres.shape[1] == dim, "centres must be (modes >= 1, dim)")
    require(assigned.shape[0] == n, "assigned must have one entry per sample")
    cdef Py_ssize_t i, c, best
    cdef double d2, best_d2
    for i in prange(n, nogil=True, num_threads=num_threads, schedule="static"):
        best = 0
        best_d2 = sq_distance(&samples[i, 0], &centres[0, 0], dim)
        for c in range(1, modes):
            d2 = sq_distance(&samples[i, 0], &centres[c, 0], dim)
            if d2 < best_d2:
                best_d2 = d2
                best = c
        assigned[i] = best if best_d2 <= radius_sq else -1


def gaussian_row_sums_within(const double[:, ::1] a, double gamma, double[::1] row_sums,
                             int num_threads):
    """row_sums[i] = sum over j > i of exp(-gamma |a_i - a_j|^2), in increasing j: the
    strict upper triangle, so twice their total is the kernel sum without the diagonal
    (each pair costs one exp, not two). O(n^2 dim / 2)."""
    cdef Py_ssize_t n = a.shape[0], dim = a.shape[1]
    require(row_sums.shape[0] == n, "row_sums must have one entry per row of a")
    cdef Py_ssize_t i, j
    cdef double total
    for i in prange(n, nogil=True, num_threads=num_threads, schedule="dynamic",
                    chunksize=TRIANGLE_CHUNK):
        total = 0.0
        for j in range(i + 1, n):
            total = total + exp(-gamma * sq_distance(&a[i, 0], &a[j, 0], dim))
        row_sums[i] = total


def gaussian_row_sums_between(const double[:, ::1] a, const double[:, ::1] b, double gamma,
                              double[::1] row_sums, int num_threads):
    """row_sums[i] = sum over all j of exp(-gamma |a_i - b_j|^2), in increasing j.
    O(m n dim)."""
    cdef Py_ssize_t m = a.shape[0], n = b.shape[0], dim = a.shape[1]
    require(b.shape[1] == dim, "a and b must have the same number of columns")
    require(row_sums.shape[0] == m, "row_sums must have one entry per row of a")
    cdef Py_ssize_t i, j
    cdef double total
    for i in prange(m, nogil=True, num_threads=num_threads, schedule="static"):
        total = 0.0
        for j in range(n):
            total = total + exp(-gamma * sq_distance(&a[i, 0], &b[j, 0], dim))
        row_sums[i] = total


def nearest_other_points(const double[:, ::1] points, int64_t[::1] nearest, int num_threads):
    """nearest[i] = the index j != i of the point closest to points[i] (ties: the lowest
    j): leave-one-out nearest neighbours. O(n^2 dim)."""
    cdef Py_ssize_t n = points.shape[0], dim = points.shape[1]
    require(n >= 2, "nearest_other_points needs at least 2 points")
    require(nearest.shape[0] == n, "nearest must have one entry per point")
    cdef Py_ssize_t i, j, best, first
    cdef double d2, best_d2
    for i in prange(n, nogil=True, num_threads=num_threads, schedule="static"):
        # Start from the first other point, so even all-infinite distances give an index;
        # then scan the points before i and those after it (no test for j == i per pair).
        first = 1 if i == 0 else 0
        best = first
        best_d2 = sq_distance(&points[i, 0], &points[first, 0], dim)
        for j in range(first + 1, i):
            d2 = sq_distance(&points[i, 0], &points[j, 0], dim)
            if d2 < best_d2:
                best_d2 = d2
                best = j
        for j in range(max(first, i) + 1, n):
            d2 = sq_distance(&points[i, 0], &points[j, 0], dim)
            if d2 < best_d2:
                best_d2 = d2
                best = j
        nearest[i] = best


def pair_distances(const double[:, ::1] points, double[::1] distances, int num_threads):
    """The Euclidean distances of all pairs i < j, row by row (the order of
    numpy.triu_indices(n, 1)), into distances of length n (n - 1) / 2. O(n^2 dim / 2)."""
    cdef Py_ssize_t n = points.shape[0], dim = points.shape[1]
    require(distances.shape[0] == n * (n - 1) // 2, "distances must have n (n - 1) / 2 entries")
    cdef Py_ssize_t i, j, start
    for i in prange(n, nogil=True, num_threads=num_threads, schedule="dynamic",
                    chunksize=TRIANGLE_CHUNK):
        # Pairs of the rows before i: (n - 1) + (n - 2) + ... + (n - i).
        start = i * (2 * n - i - 1) // 2
        for j in range(i + 1, n):
            distances[start + j - i - 1] = sqrt(sq_distance(&points[i, 0], &points[j, 0], dim))
