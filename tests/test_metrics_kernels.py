"""The Cython loops of gankit.metrics (gankit._metrics) against the NumPy reference in
tests/metrics_reference.py, on awkward shapes (n = 1, 2, primes; dim 1, 2, 3, 5, 64),
repeated points and exact ties (integer coordinates make every distance exact, so ties
are ties in both), at several thread counts (bitwise equal results)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
from gankit import _metrics, datasets, metrics

import metrics_reference as ref

SIZES = st.sampled_from([1, 2, 3, 5, 7, 13, 31, 97]) | st.integers(1, 40)
DIMS = st.sampled_from([1, 2, 3, 5, 64])
KINDS = st.sampled_from(["normal", "integers", "repeated"])
SEEDS = st.integers(0, 2**32 - 1)
THREADS = (1, 2, 3)


def points(rng, n, dim, kind):
    """float64 (n, dim): Gaussian; small integers (many exact ties and repeated rows); or
    Gaussian rows each repeated a few times."""
    if kind == "normal":
        return rng.standard_normal((n, dim))
    if kind == "integers":
        return rng.integers(-2, 3, (n, dim)).astype(np.float64)
    distinct = rng.standard_normal((max(1, n // 3), dim))
    return distinct[rng.integers(0, len(distinct), n)]


def at_each_thread_count(kernel, out, *args):
    """Run kernel(*args, out, threads) at every count in THREADS; check the outputs are
    bitwise equal and return the first."""
    results = []
    for threads in THREADS:
        out[...] = -7        # a value no kernel writes, so an unwritten entry shows
        kernel(*args, out, threads)
        results.append(out.copy())
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    return results[0]


# -- kernels --------------------------------------------------------------------------
@given(n=SIZES, modes=st.integers(1, 9), dim=DIMS, kind=KINDS, seed=SEEDS,
       radius=st.sampled_from([0.0, 0.5, 1.0, 2.0, 1e9]))
def test_assign_to_centres_matches_reference(n, modes, dim, kind, seed, radius):
    rng = np.random.default_rng(seed)
    x, centres = points(rng, n, dim, kind), points(rng, modes, dim, kind)
    assigned = at_each_thread_count(_metrics.assign_to_centres, np.empty(n, np.int64),
                                    x, centres, radius * radius)
    np.testing.assert_array_equal(assigned, ref.assign_to_centres(x, centres, radius))


@given(n=SIZES, dim=DIMS, kind=KINDS, seed=SEEDS, gamma=st.sampled_from([1e-3, 0.5, 3.0]))
def test_gaussian_row_sums_within_match_reference(n, dim, kind, seed, gamma):
    x = points(np.random.default_rng(seed), n, dim, kind)
    sums = at_each_thread_count(_metrics.gaussian_row_sums_within, np.empty(n), x, gamma)
    expected = np.triu(np.exp(-gamma * ref.sq_distances(x, x)), k=1).sum(axis=1)
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-300)
    assert 2.0 * sums.sum() == pytest.approx(ref.kernel_sum(x, x, gamma, True), rel=1e-12, abs=1e-300)


@given(m=SIZES, n=SIZES, dim=DIMS, kind=KINDS, seed=SEEDS, gamma=st.sampled_from([1e-3, 0.5, 3.0]))
def test_gaussian_row_sums_between_match_reference(m, n, dim, kind, seed, gamma):
    rng = np.random.default_rng(seed)
    x, y = points(rng, m, dim, kind), points(rng, n, dim, kind)
    sums = at_each_thread_count(_metrics.gaussian_row_sums_between, np.empty(m), x, y, gamma)
    np.testing.assert_allclose(sums, np.exp(-gamma * ref.sq_distances(x, y)).sum(axis=1),
                               rtol=1e-12, atol=1e-300)


@given(n=SIZES.filter(lambda n: n >= 2), dim=DIMS, kind=KINDS, seed=SEEDS)
def test_nearest_other_points_match_reference(n, dim, kind, seed):
    x = points(np.random.default_rng(seed), n, dim, kind)
    nearest = at_each_thread_count(_metrics.nearest_other_points, np.empty(n, np.int64), x)
    np.testing.assert_array_equal(nearest, ref.nearest_other_points(x))
    assert np.all(nearest != np.arange(n))


@given(n=SIZES, dim=DIMS, kind=KINDS, seed=SEEDS)
def test_pair_distances_match_reference(n, dim, kind, seed):
    x = points(np.random.default_rng(seed), n, dim, kind)
    distances = at_each_thread_count(_metrics.pair_distances, np.empty(n * (n - 1) // 2), x)
    expected = ref.pair_distances(x)
    np.testing.assert_allclose(distances, expected, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(distances == 0, expected == 0)   # repeated points: exactly 0


def test_distances_are_exact_where_the_gram_form_is_not():
    # |a|^2 + |b|^2 - 2 a.b loses everything near a == b far from the origin.
    x = np.array([[1e8, 1e8], [1e8 + 1e-7, 1e8]])
    exact = x[1, 0] - x[0, 0]                     # exact in float64 (Sterbenz)
    d = np.empty(1)
    _metrics.pair_distances(x, d, 1)
    assert d[0] == exact > 0
    assert ref.pair_distances(x, "gram")[0] != pytest.approx(exact, rel=0.5)


def test_nearest_with_all_distances_infinite_still_names_another_point():
    x = np.array([[-1e200], [1e200], [3e200]])    # every squared distance overflows to inf
    nearest = np.empty(3, np.int64)
    _metrics.nearest_other_points(x, nearest, 2)
    assert nearest.tolist() == [1, 0, 0]          # ties, so the lowest other index


@pytest.mark.parametrize("call", [
    lambda: _metrics.nearest_other_points(np.zeros((1, 2)), np.empty(1, np.int64), 1),
    lambda: _metrics.nearest_other_points(np.zeros((3, 2)), np.empty(2, np.int64), 1),
    lambda: _metrics.assign_to_centres(np.zeros((3, 2)), np.zeros((2, 3)), 1.0, np.empty(3, np.int64), 1),
    lambda: _metrics.assign_to_centres(np.zeros((3, 2)), np.zeros((0, 2)), 1.0, np.empty(3, np.int64), 1),
    lambda: _metrics.gaussian_row_sums_between(np.zeros((3, 2)), np.zeros((3, 1)), 1.0, np.empty(3), 1),
    lambda: _metrics.gaussian_row_sums_within(np.zeros((3, 2)), 1.0, np.empty(4), 1),
    lambda: _metrics.pair_distances(np.zeros((4, 2)), np.empty(5), 1),
])
def test_kernels_refuse_shapes_they_would_index_out_of_bounds(call):
    with pytest.raises(ValueError, match="gankit._metrics: "):
        call()


def test_kernels_refuse_non_contiguous_or_non_float64_arrays():
    x = np.zeros((4, 4))
    with pytest.raises(ValueError):
        _metrics.pair_distances(x[:, ::2], np.empty(6), 1)
    with pytest.raises(ValueError):
        _metrics.pair_distances(x.astype(np.float32), np.empty(6), 1)


# -- the public functions ---------------------------------------------------------------
def mixture_and_samples(rng, n, modes, dim, kind):
    centres = points(rng, modes, dim, kind) * 3.0
    mix = datasets.Mixture(centres, float(rng.uniform(0.1, 1.0)), rng.uniform(0.0, 1.0, modes) + 0.01)
    x = centres[rng.integers(0, modes, n)] + points(rng, n, dim, kind) * 2.0 * mix.std
    return mix, x


@given(n=SIZES, modes=st.integers(1, 9), dim=DIMS, kind=KINDS, seed=SEEDS,
       threshold=st.sampled_from([0.5, 1.0, 3.0]))
def test_mode_scores_match_reference(n, modes, dim, kind, seed, threshold):
    mix, x = mixture_and_samples(np.random.default_rng(seed), n, modes, dim, kind)
    scores = metrics.mode_scores(x, mix, threshold)
    expected = ref.mode_scores(x, mix.centers, mix.std, mix.weights, threshold)
    np.testing.assert_array_equal(scores.counts, expected.counts)
    assert scores.modes_captured == expected.modes_captured
    assert scores.high_quality_fraction == expected.high_quality_fraction
    assert scores.reverse_kl == pytest.approx(expected.reverse_kl, rel=1e-12, abs=1e-15)


@given(m=SIZES.filter(lambda n: n >= 2), n=SIZES.filter(lambda n: n >= 2), dim=DIMS, kind=KINDS,
       seed=SEEDS, bandwidth=st.sampled_from([None, 0.3, 1.0, 5.0]))
def test_mmd2_and_median_bandwidth_match_reference(m, n, dim, kind, seed, bandwidth):
    rng = np.random.default_rng(seed)
    x, y = points(rng, m, dim, kind), points(rng, n, dim, kind) + 0.5
    assert metrics.median_bandwidth(x, y) == pytest.approx(ref.median_distance(x, y), rel=1e-13)
    assert metrics.mmd2(x, y, bandwidth) == pytest.approx(ref.mmd2(x, y, bandwidth), rel=1e-9, abs=1e-12)


@given(m=SIZES, n=SIZES, dim=DIMS, kind=KINDS, seed=SEEDS, shift=st.sampled_from([0.0, 1.0, 4.0]))
def test_nn1_accuracy_matches_reference(m, n, dim, kind, seed, shift):
    rng = np.random.default_rng(seed)
    x, y = points(rng, m, dim, kind), points(rng, n, dim, kind) + shift
    assert metrics.nn1_accuracy(x, y) == ref.nn1_accuracy(x, y)


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_the_training_sizes_match_reference(name):
    # 2,500 samples as `gankit train` scores them; the median heuristic subsamples here.
    mix = datasets.mixture(name)
    fake = mix.sample(2500, seed=1).astype(np.float64) * 1.02
    real = mix.sample(2500, seed=2).astype(np.float64)
    scores = metrics.mode_scores(fake, mix)
    np.testing.assert_array_equal(scores.counts, ref.mode_scores(fake, mix.centers, mix.std, mix.weights).counts)
    assert metrics.median_bandwidth(fake, real) == pytest.approx(ref.median_distance(fake, real), rel=1e-13)
    assert metrics.mmd2(fake, real) == pytest.approx(ref.mmd2(fake, real), rel=1e-9, abs=1e-12)
    assert metrics.nn1_accuracy(fake, real) == ref.nn1_accuracy(fake, real)


def test_the_reference_gram_form_agrees_with_the_differences_form():
    # The benchmark times the gram form; it must compute the same metrics.
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((400, 3)), rng.standard_normal((300, 3)) + 0.3
    assert ref.mmd2(x, y, None, "gram") == pytest.approx(ref.mmd2(x, y), rel=1e-9, abs=1e-12)
    assert ref.median_distance(x, y, "gram") == pytest.approx(ref.median_distance(x, y), rel=1e-9)
    assert ref.nn1_accuracy(x, y, "gram") == ref.nn1_accuracy(x, y)


def test_a_sample_exactly_on_the_threshold_is_high_quality_and_ties_go_to_the_lower_mode():
    mix = datasets.gaussian_1d_mixture((-1.0, 1.0), 0.25)          # radius 3 * 0.25 = 0.75
    scores = metrics.mode_scores([[0.0], [1.75], [0.25], [1.7500001]], mix)
    # 0.0: equidistant (1.0 > 0.75, not high quality); 1.75 and 0.25: exactly 0.75 from 1.
    assert scores.counts.tolist() == [0, 2]
    mix = datasets.gaussian_1d_mixture((-1.0, 1.0), 1.0)            # radius 3: all count
    assert metrics.mode_scores([[0.0]], mix).counts.tolist() == [1, 0]


@pytest.mark.parametrize("convert", [
    lambda a: np.asfortranarray(a),
    lambda a: np.repeat(a, 2, axis=1)[:, ::2],                      # strided view
    lambda a: a.astype(">f8"),                                      # big-endian
    lambda a: a.astype(np.float32).astype(np.float64),              # (compare like with like)
])
def test_any_layout_gives_the_same_results(convert):
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((60, 3)).astype(np.float32), rng.standard_normal((50, 3)).astype(np.float32)
    mix = datasets.Mixture(rng.standard_normal((4, 3)), 0.5)
    want = (metrics.mode_scores(x, mix).counts.tolist(), metrics.mmd2(x, y), metrics.nn1_accuracy(x, y))
    cx, cy = convert(x), convert(y)
    cx.setflags(write=False)                                        # read-only input is fine
    got = (metrics.mode_scores(cx, mix).counts.tolist(), metrics.mmd2(cx, cy), metrics.nn1_accuracy(cx, cy))
    assert got == want


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.mmd2(np.array([[-1e200], [0.0], [1e200]]), np.array([[2e200], [-2e200]])),
     r"^x: expected values of magnitude at most 1e\+100, got 1e\+200$"),
    (lambda: metrics.median_bandwidth(np.array([[0.5], [1.0]]), np.array([[3e200]])),
     r"^y: expected values of magnitude at most 1e\+100, got 3e\+200$"),
    (lambda: metrics.mmd2(np.zeros((3, 1)), np.ones((3, 1)), bandwidth=1e-200),
     r"^bandwidth: expected 1e-100 <= bandwidth <= 1e\+100, got 1e-200$"),
    (lambda: metrics.mmd2(np.zeros((3, 1)), np.ones((3, 1)), bandwidth=1e200),
     r"^bandwidth: expected 1e-100 <= bandwidth <= 1e\+100, got 1e\+200$"),
])
def test_overflowing_scales_raise_instead_of_returning_nan(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- threads ----------------------------------------------------------------------------
class KernelSpy:
    """Stands in for gankit._metrics and records the thread count each kernel was given."""

    def __init__(self):
        self.threads = {}

    def __getattr__(self, name):
        kernel = getattr(_metrics, name)

        def spy(*args):
            self.threads[name] = args[-1]
            return kernel(*args)
        return spy


@pytest.mark.skipif(not (_metrics.has_openmp() and gk.build_info().get("openmp")),
                    reason="built without OpenMP: every kernel runs serially")
def test_set_num_threads_governs_the_kernels_and_small_problems_stay_serial(monkeypatch):
    spy = KernelSpy()
    monkeypatch.setattr(metrics, "_metrics", spy)
    rng = np.random.default_rng(9)
    big, many = rng.standard_normal((2000, 2)), rng.standard_normal((20_000, 2))
    for threads in (1, 2):
        gk.set_num_threads(threads)
        metrics.mode_scores(many, datasets.ring_mixture())
        metrics.mmd2(big, big + 1.0)
        metrics.nn1_accuracy(big, big + 1.0)
        assert set(spy.threads.values()) == {threads}, spy.threads
        assert len(spy.threads) == 5
    metrics.nn1_accuracy(big[:2], big[2:4])
    assert spy.threads["nearest_other_points"] == 1
