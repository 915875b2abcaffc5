"""Inverted dropout: the counter-based mask against an independent implementation of its
documented hash, p = 0 as the identity, the keep rate, thread independence, and the
masks of a network reproducible from its (seed, counter)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
import reference as ref

dims = st.one_of(st.sampled_from([1, 2, 3, 7, 16, 17, 31, 97]), st.integers(1, 120))
words = st.integers(0, 2**64 - 1)


@given(seed=words, counter=words, layer=st.integers(0, 2**64 - 1), n=st.integers(1, 3000))
def test_hash_matches_the_documented_formula(seed, counter, layer, n):
    np.testing.assert_array_equal(gk._core.dropout_bits(seed, counter, layer, n),
                                  ref.dropout_bits(seed, counter, layer, n))


@given(rows=dims, units=dims, p=st.one_of(st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.999]), st.floats(0, 0.99)),
       seed=words, counter=st.integers(0, 10**6), layer=st.integers(0, 8))
def test_forward_and_backward_match_reference(rows, units, p, seed, counter, layer):
    rng = np.random.default_rng(seed % 2**32)
    x = rng.standard_normal((rows, units)).astype(np.float32)
    y, mask = gk._core.dropout_forward(x, p, seed, counter, layer)
    keep = ref.dropout_mask(seed, counter, layer, x.shape, p)
    np.testing.assert_array_equal(mask, keep.astype(np.uint8))
    scale = np.float32(ref.dropout_scale(p))
    np.testing.assert_array_equal(y, np.where(keep, x * scale, np.float32(0)))
    d_y = rng.standard_normal((rows, units)).astype(np.float32)
    np.testing.assert_array_equal(gk._core.dropout_backward(d_y, mask, p), np.where(keep, d_y * scale, np.float32(0)))


def test_p_zero_is_the_identity():
    x = np.random.default_rng(0).standard_normal((33, 17)).astype(np.float32)
    y, mask = gk._core.dropout_forward(x, 0.0, 1, 2, 3)
    np.testing.assert_array_equal(y, x)
    assert mask.all()


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.8])
def test_keep_rate_is_one_minus_p(p):
    n = 200_000
    _, mask = gk._core.dropout_forward(np.ones((n // 100, 100), np.float32), p, 7, 0, 0)
    kept = int(mask.sum())
    # Binomial(n, 1 - p): 5 standard deviations either side.
    assert abs(kept - n * (1 - p)) < 5 * np.sqrt(n * p * (1 - p))
    # Neighbouring elements are not correlated: pairs of (kept, kept) occur at (1 - p)^2.
    flat = mask.ravel().astype(np.float64)
    both = float(np.mean(flat[1:] * flat[:-1]))
    assert abs(both - (1 - p) ** 2) < 5 * np.sqrt((1 - p) ** 2 / n)


def test_mask_depends_on_seed_counter_and_layer_and_not_on_threads():
    x = np.ones((1000, 301), np.float32)
    masks = {}
    for threads in (1, 2):
        gk.set_num_threads(threads)
        masks[threads] = gk._core.dropout_forward(x, 0.5, 11, 3, 1)[1]
    np.testing.assert_array_equal(masks[1], masks[2])
    for args in ((12, 3, 1), (11, 4, 1), (11, 3, 2)):
        other = gk._core.dropout_forward(x, 0.5, *args)[1]
        assert 0.45 < np.mean(other != masks[1]) < 0.55  # independent masks disagree half the time


def test_network_masks_are_reproducible_from_seed_and_counter():
    net = gk.MLP([4, 64, 64, 3], activation="relu", dropout=0.5, seed=3)
    x = np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32)
    assert net._net.dropout_state == (3, 0)
    first = net(x, training=True)
    assert net._net.dropout_state == (3, 1)  # one training forward, one counter step
    second = net(x, training=True)
    assert not np.array_equal(first, second)
    net._net.dropout_state = (3, 0)
    np.testing.assert_array_equal(net(x, training=True), first)
    # Inference: no dropout, and the counter stays.
    state = net._net.dropout_state
    np.testing.assert_array_equal(net(x), net(x))
    assert net._net.dropout_state == state
    # The masks are the documented ones: layer l of call c uses dropout_mask(seed, c, l).
    twin = ref.MLPRef.of(net)
    twin.dropout_counter = 0
    np.testing.assert_allclose(first, twin.forward(x, training=True)[0], rtol=1e-4, atol=1e-5)


def test_expected_output_equals_input():
    """Inverted dropout keeps the mean: averaged over many masks, y ~ x."""
    x = np.random.default_rng(2).standard_normal((1, 50)).astype(np.float32)
    mean = np.mean([gk._core.dropout_forward(x, 0.4, 5, c, 0)[0] for c in range(4000)], axis=0)
    # Per element: std of y is |x| sqrt(p / (1 - p)) / sqrt(4000).
    assert np.all(np.abs(mean - x) < 5 * np.abs(x) * np.sqrt(0.4 / 0.6 / 4000) + 1e-6)


@pytest.mark.parametrize("call, error, match", [
    (lambda: gk._core.dropout_forward(np.ones((2, 2)), 1.0, 0, 0), ValueError, r"dropout: expected a rate 0 <= p < 1"),
    (lambda: gk._core.dropout_forward(np.ones((2, 2)), -0.1, 0, 0), ValueError, "dropout"),
    (lambda: gk._core.dropout_forward(np.ones((2, 2)), 0.5, -1, 0), TypeError, "incompatible function arguments"),
    (lambda: gk._core.dropout_backward(np.ones((2, 2)), np.full((2, 2), 2, np.uint8), 0.5), ValueError,
     r"mask: expected values in \[0, 1\]"),
    (lambda: gk._core.dropout_backward(np.ones((2, 2)), np.ones((2, 2), bool), 0.5), TypeError, "mask: expected dtype uint8"),
    (lambda: gk.MLP([2, 4, 1], dropout=1.0), ValueError, r"dropout: expected 0 <= dropout < 1"),
    (lambda: gk.MLP([2, 4, 1], dropout="0.5"), TypeError, "dropout: expected a real number"),
    (lambda: gk.MLP([2, 1], dropout=0.5), ValueError, "dropout: applies to hidden layers"),
])
def test_arguments_are_validated(call, error, match):
    with pytest.raises(error, match=match):
        call()
