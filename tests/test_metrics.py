"""Metrics against brute-force loop implementations written from the definitions, plus
known answers (samples of the mixture itself, a collapsed generator, shifted samples)."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
from gankit import datasets, metrics


# -- brute-force references -----------------------------------------------------------
def dist(a, b):
    return math.sqrt(sum((float(p) - float(q)) ** 2 for p, q in zip(a, b)))


def ref_mode_scores(x, mix, threshold_std):
    counts = [0] * mix.modes
    for row in x:
        d = [dist(row, c) for c in mix.centers]
        j = d.index(min(d))
        if d[j] <= threshold_std * mix.std:
            counts[j] += 1
    total = sum(counts)
    q = [max(w, 1e-12) for w in mix.weights]
    if total == 0:
        kl = math.log(1 / min(q))
    else:
        kl = max(0.0, sum(c / total * math.log(c / total / qi) for c, qi in zip(counts, q) if c))
    return counts, sum(c > 0 for c in counts), total / len(x), kl


def ref_mmd2(x, y, bandwidth):
    k = lambda a, b: math.exp(-dist(a, b) ** 2 / (2 * bandwidth ** 2))
    m, n = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kxy = sum(k(a, b) for a in x for b in y) / (m * n)
    return kxx + kyy - 2 * kxy


def ref_median_distance(x, y):
    pooled = list(x) + list(y)
    return float(np.median([dist(pooled[i], pooled[j])
                            for i in range(len(pooled)) for j in range(i + 1, len(pooled))]))


def ref_nn1(x, y):
    pooled = [(row, 0) for row in x] + [(row, 1) for row in y]
    right = {0: 0, 1: 0}
    for i, (row, label) in enumerate(pooled):
        others = [(dist(row, other), j) for j, (other, _) in enumerate(pooled) if j != i]
        _, nearest = min(others)
        right[label] += pooled[nearest][1] == label
    return 0.5 * (right[0] / len(x) + right[1] / len(y))


def gaussian(rng, n, dim, shift=0.0):
    return rng.standard_normal((n, dim)) + shift


small = st.integers(2, 14)
dims = st.integers(1, 4)
seeds = st.integers(0, 2**32 - 1)


# -- mode_scores ----------------------------------------------------------------------
@given(n=st.integers(1, 60), modes=st.integers(1, 6), dim=dims, seed=seeds,
       threshold=st.sampled_from([0.5, 1.0, 3.0]), zero_weight=st.booleans())
def test_mode_scores_match_brute_force(n, modes, dim, seed, threshold, zero_weight):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.1, 1.0, modes)
    if zero_weight and modes > 1:
        weights[0] = 0.0
    mix = datasets.Mixture(rng.uniform(-3, 3, (modes, dim)), float(rng.uniform(0.05, 1.0)), weights)
    x = (mix.centers[rng.integers(0, modes, n)] + rng.standard_normal((n, dim)) * 2 * mix.std).astype(np.float32)
    scores = metrics.mode_scores(x, mix, threshold)
    counts, captured, fraction, kl = ref_mode_scores(x, mix, threshold)
    assert scores.counts.tolist() == counts and scores.counts.dtype == np.int64
    assert scores.modes_captured == captured and scores.modes_total == modes
    assert scores.high_quality_fraction == pytest.approx(fraction, abs=1e-12)
    assert scores.reverse_kl == pytest.approx(kl, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("mix, hq", [
    (datasets.ring_mixture(), 1 - math.exp(-4.5)),    # chi with 2 dof: P(r <= 3)
    (datasets.grid_mixture(), 1 - math.exp(-4.5)),
    (datasets.gaussian_1d_mixture((-10.0, 0.0, 10.0), 1.0, (1, 2, 1)), math.erf(3 / math.sqrt(2))),
])
def test_samples_of_the_mixture_capture_every_mode(mix, hq):
    n = 100_000
    scores = metrics.mode_scores(mix.sample(n, seed=5), mix)
    assert scores.modes_captured == scores.modes_total == mix.modes
    assert abs(scores.high_quality_fraction - hq) < 5 * math.sqrt(hq * (1 - hq) / n)
    assert 0.0 <= scores.reverse_kl < 1e-3


def test_a_collapsed_generator_captures_one_mode():
    mix = datasets.ring_mixture()
    x = mix.centers[3] + 0.01 * np.random.default_rng(0).standard_normal((5000, 2))
    scores = metrics.mode_scores(x, mix)
    assert scores.modes_captured == 1
    assert np.flatnonzero(scores.counts).tolist() == [3]
    assert scores.reverse_kl == pytest.approx(math.log(8))


def test_no_high_quality_sample_scores_as_the_worst_histogram():
    mix = datasets.gaussian_1d_mixture((0.0, 10.0), 0.1, (0.2, 0.8))
    scores = metrics.mode_scores(np.full((10, 1), 5.0), mix)
    assert scores.modes_captured == 0 and scores.high_quality_fraction == 0.0
    assert scores.counts.tolist() == [0, 0]
    assert scores.reverse_kl == pytest.approx(math.log(1 / 0.2))


def test_samples_in_a_zero_weight_mode_give_a_large_finite_kl():
    mix = datasets.gaussian_1d_mixture((0.0, 10.0), 0.1, (0.0, 1.0))
    scores = metrics.mode_scores(np.zeros((10, 1)), mix)
    assert scores.reverse_kl == pytest.approx(math.log(1 / metrics.KL_EPSILON))


def test_threshold_controls_quality():
    mix = datasets.ring_mixture()
    x = mix.sample(20_000, seed=1)
    fractions = [metrics.mode_scores(x, mix, t).high_quality_fraction for t in (1.0, 2.0, 3.0)]
    np.testing.assert_allclose(fractions, [1 - math.exp(-t * t / 2) for t in (1, 2, 3)], atol=0.015)


def test_as_dict_is_plain_python():
    d = metrics.mode_scores(datasets.ring(n=100), datasets.ring_mixture()).as_dict()
    assert set(d) == {"modes_captured", "modes_total", "high_quality_fraction", "reverse_kl", "counts"}
    assert isinstance(d["counts"], list) and all(isinstance(c, int) for c in d["counts"])


# -- MMD ------------------------------------------------------------------------------
@given(m=small, n=small, dim=dims, seed=seeds, bandwidth=st.sampled_from([None, 0.3, 1.0, 5.0]))
def test_mmd2_matches_brute_force(m, n, dim, seed, bandwidth):
    rng = np.random.default_rng(seed)
    x, y = gaussian(rng, m, dim), gaussian(rng, n, dim, shift=0.5)
    h = ref_median_distance(x, y) if bandwidth is None else bandwidth
    assert metrics.mmd2(x, y, bandwidth) == pytest.approx(ref_mmd2(x, y, h), rel=1e-9, abs=1e-12)


@given(m=small, n=small, dim=dims, seed=seeds)
def test_median_bandwidth_matches_brute_force(m, n, dim, seed):
    rng = np.random.default_rng(seed)
    x, y = gaussian(rng, m, dim), gaussian(rng, n, dim)
    assert metrics.median_bandwidth(x, y) == pytest.approx(ref_median_distance(x, y), rel=1e-12)


def test_median_bandwidth_subsamples_large_inputs_deterministically():
    rng = np.random.default_rng(0)
    x, y = gaussian(rng, 3000, 2), gaussian(rng, 3000, 2)
    h = metrics.median_bandwidth(x, y)
    assert h == metrics.median_bandwidth(x, y) == metrics.median_bandwidth(y, x)
    # x_i - x_j ~ N(0, 2 I_2): its norm is sqrt(2) times a Rayleigh(1), median 2 sqrt(ln 2) = 1.665.
    assert abs(h - 2 * math.sqrt(math.log(2))) < 0.05


def test_median_bandwidth_with_repeated_points():
    x = np.zeros((10, 2))
    y = np.vstack([np.zeros((9, 2)), [[3.0, 4.0]]])
    assert metrics.median_bandwidth(x, y) == pytest.approx(5.0)   # mean of the non-zero distances
    assert metrics.median_bandwidth(x, x) == 1.0                  # all points coincide
    assert metrics.mmd2(x, x) == pytest.approx(0.0, abs=1e-12)


def test_mmd2_known_answers():
    rng = np.random.default_rng(1)
    x, y = gaussian(rng, 1500, 2), gaussian(rng, 1500, 2)
    same = metrics.mmd2(x, y)
    shifted = metrics.mmd2(x, y + 1.0)
    assert abs(same) < 2e-3
    assert shifted > 0.1 > 50 * abs(same)
    assert metrics.mmd2(x, y + 0.5) < shifted
    assert metrics.mmd2(y, x) == pytest.approx(same, abs=1e-12)


def test_mmd2_accepts_float32_and_integers():
    x = np.arange(12, dtype=np.int64).reshape(6, 2)
    y = x[::-1] + 1
    assert metrics.mmd2(x, y, 2.0) == pytest.approx(ref_mmd2(x, y, 2.0))
    assert metrics.mmd2(x.astype(np.float32), y.astype(np.float32), 2.0) == pytest.approx(ref_mmd2(x, y, 2.0))


# -- 1-NN -----------------------------------------------------------------------------
@given(m=st.integers(1, 14), n=st.integers(1, 14), dim=dims, seed=seeds, shift=st.sampled_from([0.0, 1.0, 4.0]))
def test_nn1_matches_brute_force(m, n, dim, seed, shift):
    rng = np.random.default_rng(seed)
    x, y = gaussian(rng, m, dim), gaussian(rng, n, dim, shift)
    assert metrics.nn1_accuracy(x, y) == pytest.approx(ref_nn1(x, y), abs=1e-12)


def test_nn1_known_answers():
    rng = np.random.default_rng(2)
    x, y = gaussian(rng, 1000, 2), gaussian(rng, 1000, 2)
    assert abs(metrics.nn1_accuracy(x, y) - 0.5) < 0.04
    assert metrics.nn1_accuracy(x, y + 20.0) == 1.0
    assert metrics.nn1_accuracy(x, x.copy()) == 0.0       # a generator that memorised x


def test_nn1_balanced_accuracy_keeps_chance_at_half_for_unequal_sizes():
    rng = np.random.default_rng(3)
    x, y = gaussian(rng, 300, 2), gaussian(rng, 1500, 2)
    assert abs(metrics.nn1_accuracy(x, y) - 0.5) < 0.05


# -- threads --------------------------------------------------------------------------
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_results_do_not_depend_on_the_thread_count(threads):
    rng = np.random.default_rng(4)
    mix = datasets.grid_mixture()
    x, y = mix.sample(700, seed=1), mix.sample(650, seed=2) + 0.1 * rng.standard_normal((650, 2))

    def scores():
        return (metrics.mode_scores(y, mix).counts, metrics.mmd2(x, y), metrics.nn1_accuracy(x, y),
                metrics.median_bandwidth(x, y))

    gk.set_num_threads(1)
    serial = scores()
    gk.set_num_threads(threads)
    parallel = scores()
    np.testing.assert_array_equal(parallel[0], serial[0])
    assert parallel[1:] == serial[1:]            # bitwise: no reduction order depends on it


# -- bad inputs -----------------------------------------------------------------------
GOOD = np.zeros((4, 2))


# Every message reads "<argument>: expected <what>, got <what was given>".
@pytest.mark.parametrize("call, error, message", [
    (lambda: metrics.mmd2(np.zeros(4), GOOD), ValueError,
     r"^x: expected a 2-D \(n, dim\) array \(use x.reshape\(-1, 1\) for 1-D data\), got shape \(4,\)$"),
    (lambda: metrics.mmd2(GOOD, np.zeros((2, 2, 2))), ValueError, r"^y: expected a 2-D \(n, dim\) array, got shape \(2, 2, 2\)$"),
    (lambda: metrics.mmd2(np.zeros((1, 2)), GOOD), ValueError, r"^x: expected at least 2 row\(s\) and 1 column, got shape \(1, 2\)$"),
    (lambda: metrics.mmd2(GOOD, np.zeros((4, 0))), ValueError, r"^y: expected at least 2 row\(s\) and 1 column, got shape \(4, 0\)$"),
    (lambda: metrics.mmd2(GOOD, np.zeros((4, 3))), ValueError, "^x and y: expected the same number of columns, got 2 and 3$"),
    (lambda: metrics.mmd2(GOOD, np.full((4, 2), np.nan)), ValueError, r"^y: expected finite values, got 8 NaN or infinite value\(s\)$"),
    (lambda: metrics.mmd2(GOOD, GOOD, bandwidth=0.0), ValueError, r"^bandwidth: expected 1e-100 <= bandwidth <= 1e\+100, got 0.0$"),
    (lambda: metrics.mmd2(GOOD, GOOD, bandwidth=float("inf")), ValueError, "^bandwidth: expected a finite number, got inf$"),
    (lambda: metrics.mmd2(GOOD, GOOD, bandwidth="1"), TypeError, r"^bandwidth: expected a real number, got '1' \(str\)$"),
    (lambda: metrics.mmd2(GOOD.astype(complex), GOOD), TypeError, "^x: expected an array of real numbers, got dtype complex128$"),
    (lambda: metrics.mmd2([["a", "b"], ["c", "d"]], GOOD), TypeError, "^x: expected an array of real numbers, got dtype <U1$"),
    (lambda: metrics.mmd2([[1.0], [1.0, 2.0]], GOOD), TypeError,
     r"^x: expected a 2-D \(n, dim\) array of real numbers, got a list NumPy cannot read as one$"),
    (lambda: metrics.nn1_accuracy(np.zeros((0, 2)), GOOD), ValueError, r"^x: expected at least 1 row\(s\) and 1 column, got shape \(0, 2\)$"),
    (lambda: metrics.nn1_accuracy(GOOD, np.zeros((4, 1))), ValueError, "^x and y: expected the same number of columns, got 2 and 1$"),
    (lambda: metrics.nn1_accuracy(GOOD, [[np.inf, 0.0]]), ValueError, r"^y: expected finite values, got 1 NaN or infinite value\(s\)$"),
    (lambda: metrics.mode_scores(GOOD, "ring"), TypeError, r"^mixture: expected a gankit.datasets.Mixture, got 'ring' \(str\)$"),
    (lambda: metrics.mode_scores(np.zeros((4, 1)), datasets.ring_mixture()), ValueError,
     r"^samples: expected 2 column\(s\) like the mixture, got shape \(4, 1\)$"),
    (lambda: metrics.mode_scores(np.zeros((0, 2)), datasets.ring_mixture()), ValueError,
     r"^samples: expected at least 1 row\(s\) and 1 column, got shape \(0, 2\)$"),
    (lambda: metrics.mode_scores(GOOD, datasets.ring_mixture(), 0), ValueError,
     r"^threshold_std: expected 1e-100 <= threshold_std <= 1e\+100, got 0.0$"),
    (lambda: metrics.mode_scores(GOOD, datasets.ring_mixture(), None), TypeError,
     r"^threshold_std: expected a real number, got None \(NoneType\)$"),
    (lambda: metrics.median_bandwidth(GOOD, np.zeros((3, 5))), ValueError, "^x and y: expected the same number of columns, got 2 and 5$"),
])
def test_bad_inputs_raise_with_a_message_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()
