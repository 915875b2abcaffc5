"""Toy datasets: shapes, dtypes, seeding, the mixture geometry and argument checks."""
import math
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from gankit import _core, datasets

ROWS = _core.MAX_ROWS            # the most samples one call may draw
MODES, SIDE = datasets.MAX_MODES, datasets.MAX_SIDE


def nearest_mode(x, centers):
    d2 = ((x[:, None, :].astype(np.float64) - centers[None]) ** 2).sum(axis=2)
    return d2.argmin(axis=1)


# -- shapes, dtypes, seeding ----------------------------------------------------------
@pytest.mark.parametrize("make, dim", [(datasets.ring, 2), (datasets.grid, 2), (datasets.gaussian_1d, 1)])
def test_shape_dtype_and_seeding(make, dim):
    x = make(n=1000, seed=3)
    assert x.shape == (1000, dim) and x.dtype == np.float32
    np.testing.assert_array_equal(x, make(n=1000, seed=3))
    assert not np.array_equal(x, make(n=1000, seed=4))
    assert make().shape == (50_000, dim)


def test_default_seed_is_reproducible_and_none_is_fresh():
    np.testing.assert_array_equal(datasets.ring(n=100), datasets.ring(n=100))
    mix = datasets.ring_mixture()
    assert not np.array_equal(mix.sample(100, seed=None), mix.sample(100, seed=None))


def test_convenience_functions_sample_their_mixture():
    np.testing.assert_array_equal(datasets.ring(n=500, modes=5, radius=2.0, std=0.1, seed=7),
                                  datasets.ring_mixture(5, 2.0, 0.1).sample(500, seed=7))
    np.testing.assert_array_equal(datasets.grid(n=500, side=3, spacing=1.0, seed=7),
                                  datasets.grid_mixture(3, 1.0).sample(500, seed=7))
    np.testing.assert_array_equal(datasets.gaussian_1d(n=500, means=(1, 2), weights=(1, 3), seed=7),
                                  datasets.gaussian_1d_mixture((1, 2), 1.0, (1, 3)).sample(500, seed=7))


@given(n=st.integers(1, 300), seed=st.integers(0, 2**64 - 1))
def test_any_n_and_seed(n, seed):
    x = datasets.ring(n=n, seed=seed)
    assert x.shape == (n, 2) and x.dtype == np.float32 and np.all(np.isfinite(x))


# -- geometry -------------------------------------------------------------------------
def test_ring_centres_lie_on_the_circle_equally_spaced():
    mix = datasets.ring_mixture(modes=8, radius=1.5)
    assert mix.name == "ring" and mix.modes == 8 and mix.dim == 2
    np.testing.assert_allclose(np.linalg.norm(mix.centers, axis=1), 1.5)
    angles = np.sort(np.mod(np.arctan2(mix.centers[:, 1], mix.centers[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    np.testing.assert_allclose(mix.weights, 1 / 8)


def test_grid_centres_are_the_25_pacgan_points():
    mix = datasets.grid_mixture()
    assert mix.name == "grid" and mix.centers.shape == (25, 2) and mix.std == 0.05
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(c) for c in mix.centers.tolist()} == expected


def test_gaussian_1d_default_is_standard_normal():
    mix = datasets.gaussian_1d_mixture()
    assert mix.centers.tolist() == [[0.0]] and mix.std == 1.0 and mix.weights.tolist() == [1.0]
    x = datasets.gaussian_1d(n=200_000, seed=1)[:, 0].astype(np.float64)
    assert abs(x.mean()) < 5 / math.sqrt(x.size)
    assert abs(x.std() - 1.0) < 0.01


@pytest.mark.parametrize("mix", [datasets.ring_mixture(), datasets.grid_mixture(),
                                 datasets.ring_mixture(modes=3, radius=4.0, std=0.3),
                                 datasets.gaussian_1d_mixture((-5.0, 0.0, 5.0), 0.5, (0.2, 0.3, 0.5))])
def test_mode_frequencies_and_spread_match_the_spec(mix):
    n = 100_000
    x = mix.sample(n, seed=11)
    mode = nearest_mode(x, mix.centers)
    freq = np.bincount(mode, minlength=mix.modes) / n
    # 5 binomial standard errors per mode (modes are far apart, so nearest = generating mode).
    tolerance = 5 * np.sqrt(mix.weights * (1 - mix.weights) / n)
    assert np.all(np.abs(freq - mix.weights) <= tolerance)
    residual = x.astype(np.float64) - mix.centers[mode]
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=5 * mix.std / math.sqrt(n))
    np.testing.assert_allclose(residual.std(axis=0), mix.std, rtol=0.01)


def test_unnormalised_weights_are_normalised_and_zero_weight_modes_never_sampled():
    mix = datasets.gaussian_1d_mixture((-10.0, 0.0, 10.0), 1.0, (2, 0, 6))
    np.testing.assert_allclose(mix.weights, [0.25, 0.0, 0.75])
    x = mix.sample(20_000, seed=0)
    assert not np.any(np.abs(x) < 5)


def test_mixture_is_frozen_and_its_arrays_read_only():
    mix = datasets.Mixture([[0.0, 1.0], [2.0, 3.0]], 0.5)
    assert mix.weights.tolist() == [0.5, 0.5] and mix.centers.dtype == np.float64
    with pytest.raises(AttributeError):
        mix.std = 2.0
    with pytest.raises(ValueError):
        mix.centers[0, 0] = 1.0


def test_mixture_by_name():
    assert datasets.mixture("ring").centers.shape == (8, 2)
    assert datasets.mixture("grid", side=3).centers.shape == (9, 2)
    assert datasets.mixture("gaussian_1d", means=[1.0, 2.0]).centers.shape == (2, 1)
    with pytest.raises(ValueError, match="name: expected one of 'ring', 'grid', 'gaussian_1d', got 'digits'"):
        datasets.mixture("digits")
    with pytest.raises(TypeError):
        datasets.mixture("ring", side=3)


def test_load():
    np.testing.assert_array_equal(datasets.load("ring", 100, 5), datasets.ring(n=100, seed=5))
    np.testing.assert_array_equal(datasets.load("grid", 100, 5), datasets.grid(n=100, seed=5))
    np.testing.assert_array_equal(datasets.load("gaussian_1d", 100, 5), datasets.gaussian_1d(n=100, seed=5))
    assert datasets.load("ring").shape == (50_000, 2)
    with pytest.raises(ValueError, match="name: expected one of 'ring', 'grid', 'gaussian_1d', 'digits', got 'moons'"):
        datasets.load("moons", 10, 0)
    with pytest.raises(ValueError, match=f"n: expected an integer >= 1 and <= {ROWS}, got 0"):
        datasets.load("ring", 0, 0)


# -- digits ---------------------------------------------------------------------------
def test_digits_scaled_to_minus_one_one():
    pytest.importorskip("sklearn")
    x = datasets.digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    from sklearn.datasets import load_digits
    np.testing.assert_allclose(x, load_digits().data / 8.0 - 1.0, rtol=0, atol=1e-7)
    subset = datasets.load("digits", 100, 3)
    assert subset.shape == (100, 64)
    all_rows = {row.tobytes() for row in x}
    assert all(row.tobytes() in all_rows for row in subset)
    assert not np.array_equal(subset, x[:100])
    np.testing.assert_array_equal(subset, datasets.load("digits", 100, 3))
    np.testing.assert_array_equal(datasets.load("digits"), x)
    with pytest.raises(ValueError, match="n: expected an integer >= 1 and <= 1797, got 1798"):
        datasets.load("digits", 1798, 0)


def test_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "gankit\[digits\]"'):
        datasets.digits()
    with pytest.raises(ImportError, match="scikit-learn"):
        datasets.load("digits")


# -- argument checks ------------------------------------------------------------------
# Every message reads "<argument>: expected <what>, got <what was given>".
@pytest.mark.parametrize("call, error, message", [
    (lambda: datasets.ring(n=-3), ValueError, f"^n: expected an integer >= 1 and <= {ROWS}, got -3$"),
    (lambda: datasets.ring(n=0), ValueError, "^n: expected an integer >= 1 .*, got 0$"),
    (lambda: datasets.ring(n=ROWS + 1), ValueError, f"^n: expected an integer >= 1 and <= {ROWS}, got {ROWS + 1}$"),
    (lambda: datasets.ring(n=2.5), TypeError, r"^n: expected an integer, got 2.5 \(float\)$"),
    (lambda: datasets.ring(n=True), TypeError, r"^n: expected an integer, got True \(bool\)$"),
    (lambda: datasets.ring(modes=0), ValueError, f"^modes: expected an integer >= 1 and <= {MODES}, got 0$"),
    (lambda: datasets.ring(modes=MODES + 1), ValueError, f"^modes: expected an integer >= 1 and <= {MODES}, got {MODES + 1}$"),
    (lambda: datasets.ring(radius=0.0), ValueError, "^radius: expected 0 < radius, got 0.0$"),
    (lambda: datasets.ring(std=-0.1), ValueError, "^std: expected 0 < std, got -0.1$"),
    (lambda: datasets.ring(std=float("nan")), ValueError, "^std: expected a finite number, got nan$"),
    (lambda: datasets.ring(std="0.1"), TypeError, r"^std: expected a real number, got '0.1' \(str\)$"),
    (lambda: datasets.ring(seed=-1), ValueError, "^seed: expected None or an integer >= 0, got -1$"),
    (lambda: datasets.ring(seed=1.0), TypeError, r"^seed: expected None or an integer >= 0, got 1.0 \(float\)$"),
    (lambda: datasets.grid(side=0), ValueError, f"^side: expected an integer >= 1 and <= {SIDE}, got 0$"),
    (lambda: datasets.grid(side=SIDE + 1), ValueError, f"^side: expected an integer >= 1 and <= {SIDE}, got {SIDE + 1}$"),
    (lambda: datasets.grid(spacing=float("inf")), ValueError, "^spacing: expected a finite number, got inf$"),
    (lambda: datasets.grid_mixture(std=0), ValueError, "^std: expected 0 < std, got 0.0$"),
    (lambda: datasets.ring_mixture(modes=1.5), TypeError, r"^modes: expected an integer, got 1.5 \(float\)$"),
    (lambda: datasets.gaussian_1d(means=()), ValueError,
     r"^means: expected a non-empty sequence of finite numbers, got shape \(0,\)$"),
    (lambda: datasets.gaussian_1d(means=0.0), TypeError,
     r"^means: expected a non-empty sequence of finite numbers, got 0.0 \(float\)$"),
    (lambda: datasets.gaussian_1d(means="ab"), TypeError,
     r"^means: expected a non-empty sequence of finite numbers, got 'ab' \(str\)$"),
    (lambda: datasets.gaussian_1d(means=(0.0, float("nan"))), ValueError,
     r"^means: expected a non-empty sequence of finite numbers, got \[0.0, nan\]$"),
    (lambda: datasets.gaussian_1d(means=(0, 1), weights=(1,)), ValueError, "^weights: expected 2 entries, got 1$"),
    (lambda: datasets.gaussian_1d(means=(0, 1), weights=(1, -1)), ValueError,
     r"^weights: expected non-negative numbers with a positive sum, got \[1.0, -1.0\]$"),
    (lambda: datasets.gaussian_1d(means=(0, 1), weights=(0, 0)), ValueError,
     r"^weights: expected non-negative numbers with a positive sum, got \[0.0, 0.0\]$"),
    (lambda: datasets.gaussian_1d_mixture(weights=[None]), TypeError,
     r"^weights: expected a non-empty sequence of finite numbers, got weights\[0\] = None \(NoneType\)$"),
    (lambda: datasets.Mixture(np.zeros(3), 1.0), ValueError,
     r"^centers: expected a 2-D \(modes, dim\) array .*, got shape \(3,\)$"),
    (lambda: datasets.Mixture(np.zeros((0, 2)), 1.0), ValueError,
     r"^centers: expected at least 1 row\(s\) and 1 column, got shape \(0, 2\)$"),
    (lambda: datasets.Mixture([["a", "b"]], 1.0), TypeError, "^centers: expected an array of real numbers, got dtype <U1$"),
    (lambda: datasets.Mixture([[np.inf, 0.0]], 1.0), ValueError,
     r"^centers: expected finite values, got 1 NaN or infinite value\(s\)$"),
    (lambda: datasets.Mixture([[0.0]], 0.0), ValueError, "^std: expected 0 < std, got 0.0$"),
    (lambda: datasets.Mixture([[0.0]], 1.0, name=3), TypeError, r"^name: expected a str, got 3 \(int\)$"),
    (lambda: datasets.ring_mixture().sample(0), ValueError, "^n: expected an integer >= 1 .*, got 0$"),
    (lambda: datasets.ring_mixture().sample(5, seed=-2), ValueError, "^seed: expected None or an integer >= 0, got -2$"),
    (lambda: datasets.load("digits", 0), ValueError, "^n: expected an integer >= 1 and <= 1797, got 0$"),
    (lambda: datasets.load("ring", 10, -1), ValueError, "^seed: expected None or an integer >= 0, got -1$"),
    (lambda: datasets.load(3), ValueError, "^name: expected one of 'ring', 'grid', 'gaussian_1d', 'digits', got 3$"),
])
def test_bad_arguments_raise_with_a_message_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()
