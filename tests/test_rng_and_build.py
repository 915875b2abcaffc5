"""The core's RNG, build_info and the thread setting."""
import numpy as np
import pytest

import gankit as gk


def test_rng_normal_moments_and_reproducibility():
    a = gk._core.Rng(42).normal(200_001)
    assert abs(a.mean()) < 0.01 and abs(a.std() - 1) < 0.01
    assert abs(np.mean(a ** 4) - 3) < 0.06  # Gaussian kurtosis
    np.testing.assert_array_equal(a, gk._core.Rng(42).normal(200_001))
    assert not np.array_equal(a[:100], gk._core.Rng(43).normal(100))


def test_rng_uniform_range_and_state_round_trip():
    r = gk._core.Rng(7)
    u = r.uniform(100_000, -1.0, 1.0)
    assert u.min() >= -1 and u.max() < 1 and abs(u.mean()) < 0.01
    state = r.state
    first = r.normal(10)
    r.state = state
    np.testing.assert_array_equal(r.normal(10), first)
    with pytest.raises(ValueError, match="not all zero"):
        r.state = [0, 0, 0, 0]


def test_gan_rng_state_round_trip():
    gan = gk.GAN(gk.MLP([2, 4, 2]), gk.MLP([2, 4, 1]), seed=5)
    state = gan._gan.rng_state
    z1 = gan.noise(7)
    gan._gan.rng_state = state
    np.testing.assert_array_equal(gan.noise(7), z1)


def test_build_info_reports_the_build():
    info = gk.build_info()
    assert set(info) >= {"version", "compiler", "kernel", "openmp", "num_threads"}
    assert info["kernel"] in info["available_kernels"]
    assert info["num_threads"] == gk.get_num_threads() >= 1


def test_set_num_threads():
    gk.set_num_threads(1)
    assert gk.get_num_threads() == 1 and gk.build_info()["num_threads"] == 1
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        gk.set_num_threads(0)
    with pytest.raises(TypeError):
        gk.set_num_threads("2")
