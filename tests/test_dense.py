"""The dense layer (Y = act(X W + b) and its backward pass) against the float64 reference
and against finite differences of it."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
import reference as ref

ACTS = ["identity", "relu", "leaky_relu", "tanh", "sigmoid"]
dims = st.one_of(st.sampled_from([1, 2, 3, 7, 16, 17, 31, 97]), st.integers(1, 200))


def layer(rng, batch, fan_in, fan_out):
    x = rng.standard_normal((batch, fan_in)).astype(np.float32)
    w = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
    b = rng.standard_normal(fan_out).astype(np.float32)
    return x, w, b


@given(batch=dims, fan_in=dims, fan_out=dims, act=st.sampled_from(ACTS),
       slope=st.sampled_from([0.0, 0.01, 0.2, 0.5]), seed=st.integers(0, 2**32 - 1))
def test_dense_forward_and_backward_match_reference(batch, fan_in, fan_out, act, slope, seed):
    rng = np.random.default_rng(seed)
    x, w, b = layer(rng, batch, fan_in, fan_out)
    y = gk._core.dense_forward(x, w, b, act, slope)
    y_ref, z_ref = ref.dense_forward(x, w, b, act, slope)
    # Pre-activation error bound, carried through an activation that is 1-Lipschitz.
    z_tol = ref.matmul_tolerance(np.c_[x, np.ones(batch)], np.r_[w, b[None]])
    assert np.all(np.abs(y - y_ref) <= z_tol + 4 * ref.F32_EPS * np.abs(y_ref) + 1e-7)

    d_y = rng.standard_normal((batch, fan_out)).astype(np.float32)
    d_w, d_b, d_x = gk._core.dense_backward(x, w, y, d_y, act, slope)
    # Backward from the float32 output y: compare with the reference fed the same y.
    d_z = d_y.astype(np.float64) * derivative_from_output(y.astype(np.float64), act, slope)
    np.testing.assert_allclose(d_b, d_z.sum(0), rtol=1e-4, atol=1e-4 * np.sqrt(batch))
    assert np.all(np.abs(d_w - x.T.astype(np.float64) @ d_z) <= 2 * ref.matmul_tolerance(x.T, d_z) + 1e-6)
    assert np.all(np.abs(d_x - d_z @ w.T.astype(np.float64)) <= 2 * ref.matmul_tolerance(d_z, w.T) + 1e-6)


def derivative_from_output(y, act, slope):
    return {"identity": np.ones_like(y), "relu": (y > 0) * 1.0,
            "leaky_relu": np.where(y > 0, 1.0, slope), "tanh": 1 - y * y,
            "sigmoid": y * (1 - y)}[act]


@pytest.mark.parametrize("act", ACTS)
def test_dense_gradients_match_finite_differences(act):
    """The kernel's gradients agree with central differences of the float64 forward pass
    (loss = sum(y * d_y), so d loss / d y = d_y)."""
    rng = np.random.default_rng(7)
    batch, fan_in, fan_out = 5, 7, 3
    params = {name: a.astype(np.float64) for name, a in zip("xwb", layer(rng, batch, fan_in, fan_out))}
    d_y = rng.standard_normal((batch, fan_out))

    def loss(p):
        return np.sum(ref.dense_forward(p["x"], p["w"], p["b"], act)[0] * d_y)

    y = gk._core.dense_forward(params["x"], params["w"], params["b"], act)
    d_w, d_b, d_x = gk._core.dense_backward(params["x"], params["w"], y, d_y, act)
    kernel_grads = {"x": d_x, "w": d_w, "b": d_b}
    h = 1e-6
    for name, arr in params.items():
        fd = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[i] += h
            minus[i] -= h
            fd[i] = (loss({**params, name: plus}) - loss({**params, name: minus})) / (2 * h)
        np.testing.assert_allclose(kernel_grads[name], fd, rtol=2e-3, atol=2e-4,
                                   err_msg=f"d_{name} ({act})")


def test_dense_rejects_mismatched_shapes():
    x = np.ones((4, 3), np.float32)
    w = np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match=r"x: expected a 2-D array of shape \(n, 3\)"):
        gk._core.dense_forward(np.ones((4, 5)), w, np.ones(2))
    with pytest.raises(ValueError, match="b: expected a 1-D array of length 2"):
        gk._core.dense_forward(x, w, np.ones(3))
    with pytest.raises(ValueError, match="activation"):
        gk._core.dense_forward(x, w, np.ones(2), "swish")
    with pytest.raises(ValueError, match="slope"):
        gk._core.dense_forward(x, w, np.ones(2), "leaky_relu", -0.1)
