"""SGD and Adam steps against the textbook formulas (reference.AdamRef / SGDRef)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
import reference as ref

sizes = st.one_of(st.sampled_from([1, 7, 8, 15, 16, 17, 100_003]), st.integers(1, 5000))


@given(n=sizes, lr=st.floats(1e-5, 1e-1), b1=st.floats(0.0, 0.99), b2=st.floats(0.5, 0.9999),
       wd=st.sampled_from([0.0, 1e-4, 0.1]), seed=st.integers(0, 2**32 - 1))
def test_adam_steps_match_textbook(n, lr, b1, b2, wd, seed):
    # The kernel takes its settings as float32: the reference uses the same values (near
    # b2 = 0.9999, 1 - float32(b2) differs from 1 - b2 by 1.7e-4 relative, beyond rtol).
    lr, b1, b2, wd = (float(np.float32(value)) for value in (lr, b1, b2, wd))
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n).astype(np.float32)
    m = np.zeros(n, np.float32)
    v = np.zeros(n, np.float32)
    adam = ref.AdamRef(n, lr, b1, b2, 1e-8, wd)
    p_ref = p.astype(np.float64)
    for step in range(1, 4):
        g = rng.standard_normal(n).astype(np.float32)
        gk._core.adam_step(p, g, m, v, step, lr, b1, b2, 1e-8, wd)
        # The reference steps from the kernel's own float32 params, so each check
        # measures one step's rounding rather than an accumulated drift.
        p_ref = adam.step(p_ref, g.astype(np.float64))
        np.testing.assert_allclose(p, p_ref, rtol=1e-5, atol=lr * 1e-3)
        p_ref = p.astype(np.float64)
    np.testing.assert_allclose(m, adam.m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v, adam.v, rtol=1e-5, atol=1e-7)


@given(n=sizes, lr=st.floats(1e-4, 1.0), mu=st.sampled_from([0.0, 0.5, 0.9]),
       wd=st.sampled_from([0.0, 0.01]), seed=st.integers(0, 2**32 - 1))
def test_sgd_steps_match_textbook(n, lr, mu, wd, seed):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n).astype(np.float32)
    velocity = np.zeros(n, np.float32) if mu > 0 else None
    sgd = ref.SGDRef(n, lr, mu, wd)
    p_ref = p.astype(np.float64)
    for _ in range(3):
        g = rng.standard_normal(n).astype(np.float32)
        gk._core.sgd_step(p, g, velocity, lr=lr, momentum=mu, weight_decay=wd)
        p_ref = sgd.step(p_ref, g.astype(np.float64))
        np.testing.assert_allclose(p, p_ref, rtol=1e-5, atol=1e-6)


def test_adam_first_step_moves_each_parameter_by_lr():
    """With bias correction, Adam's first step is lr * sign(g) (up to eps)."""
    p = np.zeros(5, np.float32)
    g = np.array([3.0, -0.5, 1e-3, -40.0, 7.0], np.float32)
    gk._core.adam_step(p, g, np.zeros(5, np.float32), np.zeros(5, np.float32), 1, 0.01)
    np.testing.assert_allclose(p, -0.01 * np.sign(g), rtol=1e-4)


def test_optimizer_steps_refuse_arrays_they_cannot_update_in_place():
    g = np.ones(4, np.float32)
    with pytest.raises(TypeError, match="params: expected dtype float32"):
        gk._core.sgd_step(np.zeros(4), g, lr=0.1)
    with pytest.raises(ValueError, match="params: expected a C-contiguous array"):
        gk._core.sgd_step(np.zeros(8, np.float32)[::2], g, lr=0.1)
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="params: expected a writable array"):
        gk._core.sgd_step(ro, g, lr=0.1)
    with pytest.raises(ValueError, match="m: expected 4 elements"):
        gk._core.adam_step(np.zeros(4, np.float32), g, np.zeros(3, np.float32), np.zeros(4, np.float32), 1, 0.1)
    with pytest.raises(ValueError, match="lr"):
        gk._core.sgd_step(np.zeros(4, np.float32), g, lr=-1.0)
    with pytest.raises(ValueError, match="beta1"):
        gk._core.adam_step(np.zeros(4, np.float32), g, np.zeros(4, np.float32), np.zeros(4, np.float32), 1, 0.1, beta1=1.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0}, "lr"), ({"lr": float("nan")}, "lr"), ({"beta1": 1.0}, "beta1"),
    ({"beta2": -0.1}, "beta2"), ({"eps": 0}, "eps"), ({"weight_decay": -1}, "weight_decay"),
    ({"lr": "0.1"}, "lr"), ({"lr": True}, "lr")])
def test_adam_settings_are_validated(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gk.Adam(**kwargs)


@pytest.mark.parametrize("kwargs, match", [({"lr": -0.1}, "lr"), ({"momentum": 1.0}, "momentum")])
def test_sgd_settings_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gk.SGD(**kwargs)
