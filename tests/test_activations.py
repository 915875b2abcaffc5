"""Activations forward and backward against the reference, on all float32 edge values."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
import reference as ref

ACTS = ["identity", "relu", "leaky_relu", "tanh", "sigmoid"]
EDGES = np.array([-1e30, -1e4, -100, -20, -1, -1e-30, 0, 1e-30, 1, 20, 100, 1e4, 1e30], np.float32)


@pytest.mark.parametrize("act", ACTS)
@given(x=st.lists(st.floats(-1e4, 1e4, width=32), min_size=1, max_size=200),
       slope=st.sampled_from([0.0, 0.2, 0.9]))
def test_activation_forward_backward(act, x, slope):
    x = np.array(x, np.float32)
    y = gk._core.activation_forward(x, act, slope)
    np.testing.assert_allclose(y, ref.act_forward(x, act, slope), rtol=5e-7, atol=1e-37)
    d_y = np.linspace(-2, 2, x.size).astype(np.float32)
    d_x = gk._core.activation_backward(y, d_y, act, slope)
    # The derivative from the float32 output; where the output saturates to exactly
    # +-1 (tanh) or 0/1 (sigmoid) the true derivative is below float32 resolution.
    expected = d_y * ref.act_derivative(x, act, slope)
    np.testing.assert_allclose(d_x, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("act", ACTS)
def test_activations_finite_at_edges(act):
    y = gk._core.activation_forward(EDGES, act)
    d_x = gk._core.activation_backward(y, np.ones_like(EDGES), act)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(d_x))
