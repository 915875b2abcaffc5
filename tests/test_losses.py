"""The GAN losses on logits: values and gradients against the float64 reference, finite
differences, and extreme logits (+-1e4, 0, tiny) for both generator losses."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
import reference as ref

EXTREME = np.array([-1e4, -1e3, -88.0, -20.0, -1e-30, 0.0, 1e-30, 20.0, 88.0, 1e3, 1e4], np.float32)
logit_arrays = st.lists(st.floats(-50, 50, allow_nan=False, width=32), min_size=1, max_size=300)


@given(real=logit_arrays, fake=logit_arrays)
def test_discriminator_loss_matches_reference(real, fake):
    real, fake = np.array(real, np.float32), np.array(fake, np.float32)
    loss, d_real, d_fake = gk._core.discriminator_loss(real, fake)
    loss_ref, d_real_ref, d_fake_ref = ref.d_loss(real, fake)
    assert loss == pytest.approx(loss_ref, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(d_real, d_real_ref, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(d_fake, d_fake_ref, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("kind", ["minimax", "non_saturating"])
@given(fake=logit_arrays)
def test_generator_loss_matches_reference(kind, fake):
    fake = np.array(fake, np.float32)
    loss, d_logits = gk._core.generator_loss(fake, kind)
    loss_ref, d_ref = ref.g_loss(fake, kind)
    assert loss == pytest.approx(loss_ref, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(d_logits, d_ref, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("kind", ["minimax", "non_saturating"])
def test_losses_finite_at_extreme_logits(kind):
    loss, d_real, d_fake = gk._core.discriminator_loss(EXTREME, EXTREME)
    assert np.isfinite(loss) and np.all(np.isfinite(d_real)) and np.all(np.isfinite(d_fake))
    g, d_logits = gk._core.generator_loss(EXTREME, kind)
    assert np.isfinite(g) and np.all(np.isfinite(d_logits))
    # Each element's exact value, from the closed forms at the extremes.
    n = EXTREME.size
    _, d_ref = ref.g_loss(EXTREME, kind)
    np.testing.assert_allclose(d_logits, d_ref, rtol=1e-6, atol=1e-12)
    # softplus(1e4) = 1e4 exactly in double: the loss is the exact mean.
    expected = ref.g_loss(EXTREME, kind)[0]
    assert g == pytest.approx(expected, rel=1e-12)
    assert abs(d_logits[0]) == pytest.approx(0.0 if kind == "minimax" else 1.0 / n, abs=1e-12)


def test_saturation_is_as_the_seed_describes():
    """When D confidently rejects the fakes (logit -> -inf), the minimax generator's
    gradient vanishes while the non-saturating one's stays at its maximum."""
    rejected = np.full(4, -15.0, np.float32)
    _, d_minimax = gk._core.generator_loss(rejected, "minimax")
    _, d_nonsat = gk._core.generator_loss(rejected, "non_saturating")
    assert np.all(np.abs(d_minimax) < 1e-6 / 4)
    assert np.all(np.abs(d_nonsat) > 0.99 / 4)


def test_loss_values_at_zero_logit():
    zero = np.zeros(3, np.float32)
    loss, d_real, d_fake = gk._core.discriminator_loss(zero, zero)
    assert loss == pytest.approx(2 * np.log(2), rel=1e-15)
    np.testing.assert_allclose(d_real, -0.5 / 3)
    np.testing.assert_allclose(d_fake, 0.5 / 3)
    assert gk._core.generator_loss(zero, "minimax")[0] == pytest.approx(-np.log(2), rel=1e-15)
    assert gk._core.generator_loss(zero, "non_saturating")[0] == pytest.approx(np.log(2), rel=1e-15)


@pytest.mark.parametrize("kind", ["minimax", "non_saturating"])
def test_loss_gradients_match_finite_differences(kind):
    logits = np.random.default_rng(3).uniform(-6, 6, 9)
    _, d_logits = gk._core.generator_loss(logits, kind)
    h = 1e-5
    for i in range(logits.size):
        plus, minus = logits.copy(), logits.copy()
        plus[i] += h
        minus[i] -= h
        fd = (ref.g_loss(plus, kind)[0] - ref.g_loss(minus, kind)[0]) / (2 * h)
        assert d_logits[i] == pytest.approx(fd, rel=1e-4, abs=1e-7)
    _, d_real, d_fake = gk._core.discriminator_loss(logits, logits[::-1].copy())
    for i in range(logits.size):
        plus, minus = logits.copy(), logits.copy()
        plus[i] += h
        minus[i] -= h
        fd = (ref.d_loss(plus, logits[::-1])[0] - ref.d_loss(minus, logits[::-1])[0]) / (2 * h)
        assert d_real[i] == pytest.approx(fd, rel=1e-4, abs=1e-7)


def test_losses_reject_bad_input():
    with pytest.raises(ValueError, match="g_loss: expected 'minimax' or 'non_saturating'"):
        gk._core.generator_loss(np.zeros(2), "wasserstein")
    with pytest.raises(ValueError, match="logits_real: expected a non-empty 1-D array"):
        gk._core.discriminator_loss(np.zeros(0), np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        gk._core.generator_loss(np.array([0.0, np.nan]), "minimax")
