"""The MLP: forward/backward against the reference network, finite differences through
the whole network, and its parameters as zero-copy views that keep it alive."""
import gc

import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
import reference as ref

ACTS = ["identity", "relu", "leaky_relu", "tanh", "sigmoid"]
widths = st.one_of(st.sampled_from([1, 2, 3, 17, 31, 64]), st.integers(1, 96))


def ref_net(net: gk.MLP) -> ref.MLPRef:
    return ref.MLPRef(net.get_weights(), net.activation, net.output, net.slope)


@given(sizes=st.lists(widths, min_size=2, max_size=5), batch=widths,
       act=st.sampled_from(ACTS), out=st.sampled_from([None, "tanh", "sigmoid"]),
       seed=st.integers(0, 2**32 - 1))
def test_mlp_forward_backward_match_reference(sizes, batch, act, out, seed):
    net = gk.MLP(sizes, activation=act, output=out, seed=seed)
    r = np.random.default_rng(seed)
    x = r.standard_normal((batch, sizes[0])).astype(np.float32)
    d_out = r.standard_normal((batch, sizes[-1])).astype(np.float32)
    reference = ref_net(net)
    y_ref, cache = reference.forward(x)
    np.testing.assert_allclose(net.forward(x), y_ref, rtol=2e-4, atol=2e-5)
    d_x = net._net.forward_backward(x, d_out)
    grads_ref, d_x_ref = reference.backward(cache, d_out)
    np.testing.assert_allclose(net.grads, ref.flatten_grads(grads_ref), rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(d_x, d_x_ref, rtol=2e-3, atol=2e-4)


def test_mlp_gradients_match_finite_differences():
    net = gk.MLP([3, 5, 4, 2], activation="tanh", output="sigmoid", seed=1)
    r = np.random.default_rng(0)
    x = r.standard_normal((6, 3))
    d_out = r.standard_normal((6, 2))
    net._net.forward_backward(x, d_out)
    reference = ref_net(net)
    flat = reference.flat()

    def loss(p):
        reference.set_flat(p)
        return np.sum(reference.forward(x)[0] * d_out)

    h = 1e-6
    fd = np.array([(loss(flat + h * e) - loss(flat - h * e)) / (2 * h) for e in np.eye(flat.size)])
    np.testing.assert_allclose(net.grads, fd, rtol=1e-3, atol=1e-5)


def test_parameter_layout_and_views():
    net = gk.MLP([2, 3, 1], seed=0)
    assert net.num_params == 2 * 3 + 3 + 3 * 1 + 1
    (w1, b1), (w2, b2) = net.parameters()
    assert w1.shape == (2, 3) and b1.shape == (3,) and w2.shape == (3, 1) and b2.shape == (1,)
    flat = net.params
    assert np.shares_memory(flat, w1) and np.shares_memory(flat, b2)
    np.testing.assert_array_equal(flat[:6], w1.ravel())
    np.testing.assert_array_equal(flat[6:9], b1)
    w1[0, 0] = 42.0  # writes through to the network
    assert net.get_weights()[0][0][0, 0] == 42.0


def test_views_keep_the_network_alive():
    net = gk.MLP([4, 8, 1], seed=3)
    view = net.params
    expected = view.copy()
    del net
    gc.collect()
    for _ in range(100):  # churn the allocator
        gk.MLP([4, 8, 1])
    np.testing.assert_array_equal(view, expected)


def test_get_set_weights_round_trip_and_validation():
    a, b = gk.MLP([2, 16, 1], seed=1), gk.MLP([2, 16, 1], seed=2)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.params, b.params)
    x = np.random.default_rng(0).standard_normal((9, 2))
    np.testing.assert_array_equal(a(x), b(x))
    before = b.params.copy()
    bad = a.get_weights()
    bad[1] = (bad[1][0], np.full(1, np.nan))
    with pytest.raises(ValueError, match=r"weights\[1\]\[1\] \(b\): expected finite"):
        b.set_weights(bad)
    with pytest.raises(ValueError, match=r"weights\[0\]\[0\] \(W\): expected shape \(2, 16\)"):
        b.set_weights([(np.ones((3, 16)), np.ones(16)), bad[1]])
    with pytest.raises(ValueError, match="expected a list of 2"):
        b.set_weights(bad[:1])
    np.testing.assert_array_equal(b.params, before)  # a refused list changes nothing


def test_same_seed_same_weights_and_glorot_range():
    a, b, c = gk.MLP([30, 50, 1], seed=5), gk.MLP([30, 50, 1], seed=5), gk.MLP([30, 50, 1], seed=6)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    w, bias = a.get_weights()[0]
    limit = np.sqrt(6 / (30 + 50))
    assert np.all(np.abs(w) <= limit) and np.all(bias == 0)
    assert abs(np.std(w) - limit / np.sqrt(3)) < 0.05 * limit


@pytest.mark.parametrize("args, kwargs, error, match", [
    (([2],), {}, ValueError, "at least two"),
    (([2, 0, 1],), {}, ValueError, r"sizes\[1\]"),
    (([2, 2.5, 1],), {}, TypeError, r"sizes\[1\]: expected an integer"),
    (("21",), {}, TypeError, "sizes"),
    (([2, 1],), {"activation": "gelu"}, ValueError, "activation: expected one of"),
    (([2, 1],), {"output": "softmax"}, ValueError, "output: expected one of"),
    (([2, 1],), {"slope": 1.5}, ValueError, "slope"),
    (([2, 1],), {"seed": -1}, ValueError, "seed"),
])
def test_mlp_constructor_validates(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        gk.MLP(*args, **kwargs)


def test_forward_validates_input():
    net = gk.MLP([3, 4, 1])
    with pytest.raises(ValueError, match=r"x: expected a 2-D array of shape \(n, 3\)"):
        net(np.ones((5, 2)))
    with pytest.raises(TypeError, match="x: expected a float32 or float64 array, got dtype bool"):
        net(np.ones((5, 3), bool))
