"""The maxout kernels against the float64 reference: the piece-major layout, ties (the
lowest piece wins), pieces 2..8, awkward widths, finite differences, thread determinism."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
import reference as ref

dims = st.one_of(st.sampled_from([1, 2, 3, 7, 16, 17, 31, 97, 200]), st.integers(1, 150))


@given(rows=dims, units=dims, pieces=st.integers(2, 8), coarse=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_forward_and_backward_match_reference(rows, units, pieces, coarse, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, units * pieces)).astype(np.float32)
    if coarse:  # values on a grid of 1/2: many ties
        z = np.round(z * 2) / 2
    h, argmax = gk._core.maxout_forward(z, pieces)
    h_ref, argmax_ref = ref.maxout_forward(z, pieces)
    assert h.dtype == np.float32 and argmax.dtype == np.uint8 and h.shape == argmax.shape == (rows, units)
    np.testing.assert_array_equal(h, h_ref)  # a max is exact
    np.testing.assert_array_equal(argmax, argmax_ref)
    d_h = rng.standard_normal((rows, units)).astype(np.float32)
    d_z = gk._core.maxout_backward(d_h, argmax, pieces)
    np.testing.assert_array_equal(d_z, ref.maxout_backward(d_h, argmax_ref, pieces))


def test_piece_major_layout_and_lowest_piece_wins_ties():
    # units = 2, pieces = 3: columns [p0u0, p0u1, p1u0, p1u1, p2u0, p2u1]
    z = np.array([[1.0, 5.0, 3.0, 5.0, 3.0, -1.0],
                  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], np.float32)
    h, argmax = gk._core.maxout_forward(z, 3)
    np.testing.assert_array_equal(h, [[3.0, 5.0], [0.0, 0.0]])
    np.testing.assert_array_equal(argmax, [[1, 0], [0, 0]])  # 3.0 twice: piece 1; 5.0 twice: piece 0
    d_z = gk._core.maxout_backward(np.array([[10.0, 20.0], [30.0, 40.0]]), argmax, 3)
    np.testing.assert_array_equal(d_z, [[0, 20, 10, 0, 0, 0], [30, 40, 0, 0, 0, 0]])


def test_gradient_matches_finite_differences_away_from_ties():
    rng = np.random.default_rng(1)
    rows, units, pieces = 4, 5, 3
    # Pieces at least 0.1 apart, so a step of 1e-6 never changes a winner.
    z = (rng.permutation(rows * units * pieces).reshape(rows, -1) * 0.1).astype(np.float64)
    w = rng.standard_normal((rows, units))

    def loss(v):
        return np.sum(ref.maxout_forward(v, pieces)[0] * w)

    fd = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[i] += 1e-6
        minus[i] -= 1e-6
        fd[i] = (loss(plus) - loss(minus)) / 2e-6
    _, argmax = gk._core.maxout_forward(z, pieces)
    np.testing.assert_allclose(gk._core.maxout_backward(w, argmax, pieces), fd, atol=1e-6)
    np.testing.assert_allclose(ref.maxout_backward(w, ref.maxout_forward(z, pieces)[1], pieces), fd, atol=1e-6)


def test_bitwise_identical_for_one_and_two_threads():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((1500, 200 * 5)).astype(np.float32)
    d_h = rng.standard_normal((1500, 200)).astype(np.float32)
    runs = []
    for threads in (1, 2):
        gk.set_num_threads(threads)
        h, argmax = gk._core.maxout_forward(z, 5)
        runs.append((h, argmax, gk._core.maxout_backward(d_h, argmax, 5)))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call, error, match", [
    (lambda: gk._core.maxout_forward(np.ones((2, 7)), 2), ValueError, "divisible by pieces=2"),
    (lambda: gk._core.maxout_forward(np.ones((2, 8)), 0), ValueError, r"pieces: expected an integer in \[1, 64\]"),
    (lambda: gk._core.maxout_forward(np.ones((2, 130)), 65), ValueError, "pieces"),
    (lambda: gk._core.maxout_backward(np.ones((2, 3)), np.full((2, 3), 2, np.uint8), 2), ValueError,
     r"argmax: expected values in \[0, 1\], got 2"),
    (lambda: gk._core.maxout_backward(np.ones((2, 3)), np.zeros((2, 3), np.int64), 2), TypeError,
     "argmax: expected dtype uint8"),
    (lambda: gk._core.maxout_backward(np.ones((2, 3)), np.zeros((3, 2), np.uint8), 2), ValueError,
     r"argmax: expected shape \(2, 3\)"),
    (lambda: gk._core.maxout_backward(np.ones((2, 3)), [[0, 0, 0], [0, 0, 0]], 2), TypeError,
     "argmax: expected a uint8 NumPy array"),
])
def test_arguments_are_validated(call, error, match):
    with pytest.raises(error, match=match):
        call()
