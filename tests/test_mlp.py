"""The MLP: forward/backward against the reference network, finite differences through
the whole network, and its parameters as zero-copy views that keep it alive."""
import gc

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

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


# -- batch norm, maxout and dropout blocks ------------------------------------------------
blocks = st.fixed_dictionaries({
    "activation": st.sampled_from(ACTS + ["maxout"]),
    "batch_norm": st.booleans(),
    "dropout": st.sampled_from([0.0, 0.2, 0.5]),
})


def layered_net(sizes, options, seed):
    pieces = options.get("pieces", 3) if options["activation"] == "maxout" else None
    return gk.MLP(sizes, activation=options["activation"], output=options.get("output"),
                  batch_norm=options["batch_norm"], pieces=pieces, dropout=options["dropout"], seed=seed)


@given(hidden=st.lists(widths, min_size=1, max_size=3), ends=st.tuples(widths, widths),
       segments=st.lists(st.integers(2, 40), min_size=1, max_size=2), options=blocks,
       pieces=st.integers(2, 6), training=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_layered_mlp_matches_reference(hidden, ends, segments, options, pieces, training, seed):
    sizes = [ends[0], *hidden, ends[1]]
    net = layered_net(sizes, {**options, "pieces": pieces, "output": "tanh"}, seed)
    r = np.random.default_rng(seed)
    if options["batch_norm"]:  # non-trivial running statistics for inference mode
        net.set_buffers([(r.standard_normal(m.shape), r.uniform(0.2, 2, v.shape)) for m, v in net.buffers()])
    batch = sum(segments)
    x = r.standard_normal((batch, sizes[0])).astype(np.float32)
    d_out = r.standard_normal((batch, sizes[-1])).astype(np.float32)
    reference = ref.MLPRef.of(net)
    y_ref, cache = reference.forward(x, training=training, segments=segments)
    assume(well_conditioned(cache, pieces))
    dropout_state, buffers = net._net.dropout_state, net.get_buffers()
    y = net._net.forward(x, training=training, segments=segments)
    net._net.dropout_state = dropout_state  # replay the same step for the gradients
    net.set_buffers(buffers)
    d_x = net._net.forward_backward(x, d_out, training=training, segments=segments)
    grads_ref, d_x_ref = reference.backward(cache, d_out)
    np.testing.assert_allclose(y, y_ref, rtol=2e-3, atol=2e-4)
    # Batch norm divides by per-segment standard deviations that float32 rounding moves a
    # little: compare at a tolerance scaled by the largest gradient.
    flat_ref = ref.flatten_grads(grads_ref)
    scale = max(1.0, np.abs(flat_ref).max())
    np.testing.assert_allclose(net.grads, flat_ref, rtol=5e-3, atol=2e-3 * scale)
    np.testing.assert_allclose(d_x, d_x_ref, rtol=5e-3, atol=2e-3 * max(1.0, np.abs(d_x_ref).max()))
    if training and options["batch_norm"]:
        for (m, v), (m_ref, v_ref) in zip(net.get_buffers(), reference.buffers):
            np.testing.assert_allclose(m, m_ref, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(v, v_ref, rtol=1e-4, atol=1e-4)


def well_conditioned(cache, pieces, min_relative_std=1e-2, min_relative_gap=1e-4):
    """False for examples whose float32 result is not determined by the math:
    - a batch-norm segment whose features barely vary relative to their size (with
      width-1 layers and 2 rows, normalised maxout outputs can coincide to 1e-6 and
      float32 cannot resolve the next layer's variance; the exact gradient is ~1/std);
    - maxout pieces tied up to rounding (after batch norm of a width-1 input, pieces are
      +-the same normalised column, tied exactly in float64): either winner is a valid
      subgradient, and rounding picks one."""
    blocks, _ = cache
    for block in blocks:
        for _, mean, var in block.get("bn", []):
            std = np.sqrt(var)
            if np.any(std < min_relative_std * (np.abs(mean) + std)):
                return False
        if "argmax" in block:
            z = block["pre_act"]
            top2 = np.sort(z.reshape(z.shape[0], pieces, -1), axis=1)[:, -2:, :]
            if np.any(top2[:, 1] - top2[:, 0] <= min_relative_gap * (np.abs(top2[:, 1]) + 1)):
                return False
    return True


@pytest.mark.parametrize("training", [True, False])
def test_layered_mlp_gradients_match_finite_differences(training):
    """Batch norm, then maxout, then dropout, over two segments: the network's gradients
    against central differences of the float64 reference with the same weights, running
    statistics and dropout masks."""
    net = gk.MLP([3, 5, 4, 2], activation="maxout", pieces=3, batch_norm=True, dropout=0.3,
                 output="tanh", seed=2)
    r = np.random.default_rng(1)
    net.set_buffers([(r.standard_normal(m.shape), r.uniform(0.5, 2, v.shape)) for m, v in net.buffers()])
    x = r.standard_normal((7, 3))
    d_out = r.standard_normal((7, 2))
    reference = ref.MLPRef.of(net)
    net._net.forward_backward(x, d_out, training=training, segments=[4, 3])
    flat = reference.flat()

    def loss(p):
        reference.set_flat(p)
        reference.dropout_counter = 0  # the same masks every time (training mode only
        # updates running statistics, which its output does not use)
        return np.sum(reference.forward(x, training=training, segments=[4, 3])[0] * d_out)

    h = 1e-6
    fd = np.array([(loss(flat + h * e) - loss(flat - h * e)) / (2 * h) for e in np.eye(flat.size)])
    np.testing.assert_allclose(net.grads, fd, rtol=2e-3, atol=2e-4)


def test_layered_parameter_layout_and_buffers():
    net = gk.MLP([2, 3, 4, 1], activation="maxout", pieces=2, batch_norm=True, seed=0)
    widths_ = [3 * 2, 4 * 2, 1]
    expected = sum(a * w + w + (2 * w if i < 2 else 0) for i, (a, w) in enumerate(zip([2, 3, 4], widths_)))
    assert net.num_params == expected
    (w1, b1, g1, be1), (w2, b2, g2, be2), (w3, b3) = net.parameters()
    assert w1.shape == (2, 6) and b1.shape == g1.shape == be1.shape == (6,)
    assert w2.shape == (3, 8) and g2.shape == (8,) and w3.shape == (4, 1)
    flat = net.params
    np.testing.assert_array_equal(flat[12:18], b1)
    np.testing.assert_array_equal(flat[18:24], g1)
    np.testing.assert_array_equal(g1, 1)
    np.testing.assert_array_equal(be1, 0)
    (m1, v1), (m2, v2) = net.buffers()
    assert m1.shape == v1.shape == (6,) and m2.shape == (8,)
    np.testing.assert_array_equal(v2, 1)
    np.testing.assert_array_equal(m2, 0)
    assert np.shares_memory(net._net.buffers, m2)
    net(np.ones((4, 2)), training=True)
    assert not np.all(net.get_buffers()[0][1] == 1)  # training updated them in place
    plain = gk.MLP([2, 3, 1], seed=0)
    assert plain.buffers() == [] and plain._net.buffers.shape == (0,)


def test_batch_norm_inference_is_deterministic_and_training_needs_two_rows():
    net = gk.MLP([2, 8, 1], activation="relu", batch_norm=True, seed=1)
    x = np.random.default_rng(0).standard_normal((5, 2))
    before = net.get_buffers()
    np.testing.assert_array_equal(net(x[:1]), net(x)[:1])  # inference: row by row the same
    assert all(np.array_equal(a, b) for pa, pb in zip(before, net.get_buffers()) for a, b in zip(pa, pb))
    with pytest.raises(ValueError, match=r"segment 0: expected at least 2 rows"):
        net(x[:1], training=True)
    assert all(np.array_equal(a, b) for pa, pb in zip(before, net.get_buffers()) for a, b in zip(pa, pb))
    with pytest.raises(TypeError, match="training: expected True or False"):
        net(x, training="yes")


def test_set_buffers_and_weights_validate_the_new_layout():
    net = gk.MLP([2, 4, 1], activation="relu", batch_norm=True, seed=1)
    weights = net.get_weights()
    assert len(weights[0]) == 4 and len(weights[1]) == 2
    with pytest.raises(ValueError, match=r"weights\[0\]: expected a tuple \(W, b, gamma, beta\), got 2 arrays"):
        net.set_weights([weights[0][:2], weights[1]])
    with pytest.raises(ValueError, match=r"buffers\[0\]\[1\] \(running_var\): expected values >= 0"):
        net.set_buffers([(np.zeros(4), -np.ones(4))])
    with pytest.raises(ValueError, match=r"buffers\[0\]\[0\] \(running_mean\): expected shape \(4,\)"):
        net.set_buffers([(np.zeros(3), np.ones(4))])
    net.set_buffers([(np.full(4, 0.5), np.full(4, 2.0))])
    np.testing.assert_array_equal(net.get_buffers()[0][1], 2.0)


def test_layered_config_repr_and_defaults():
    d = gk.MLP([2, 200, 200, 200, 1], activation="maxout")
    assert d.pieces == 5 and d.config()["pieces"] == 5 and d.activation == "maxout"
    assert "pieces=5" in repr(d) and "batch_norm" not in repr(d)
    g = gk.MLP([2, 400, 400, 2], activation="relu", batch_norm=True, dropout=0.25)
    assert g.config() == {"sizes": [2, 400, 400, 2], "activation": "relu", "output": None,
                          "slope": g.slope, "batch_norm": True, "pieces": None, "dropout": 0.25,
                          "precision": "fp32"}
    assert "batch_norm=True" in repr(g) and "dropout=0.25" in repr(g) and "pieces" not in repr(g)
    again = gk.MLP(**g.config())
    assert again.config() == g.config() and again.num_params == g.num_params
    plain = gk.MLP([2, 3, 1])
    assert repr(plain) == f"MLP([2, 3, 1], activation='leaky_relu', output=None, slope={plain.slope})"


@pytest.mark.parametrize("kwargs, error, match", [
    ({"activation": "relu", "pieces": 3}, ValueError, "pieces: only used with activation='maxout'"),
    ({"activation": "maxout", "pieces": 1}, ValueError, r"pieces: expected an integer >= 2 and <= 64, got 1"),
    ({"activation": "maxout", "pieces": 65}, ValueError, "pieces"),
    ({"activation": "maxout", "pieces": 2.0}, TypeError, "pieces: expected an integer"),
    ({"batch_norm": "yes"}, TypeError, "batch_norm: expected True or False"),
    ({"dropout": -0.1}, ValueError, "dropout"),
    ({"dropout": float("nan")}, ValueError, "dropout"),
])
def test_layered_constructor_validates(kwargs, error, match):
    with pytest.raises(error, match=match):
        gk.MLP([2, 4, 1], **kwargs)


def test_options_need_hidden_layers():
    with pytest.raises(ValueError, match=r"batch_norm: applies to hidden layers, but sizes \[2, 1\] has none"):
        gk.MLP([2, 1], batch_norm=True)
    with pytest.raises(ValueError, match="activation='maxout': applies to hidden layers"):
        gk.MLP([2, 1], activation="maxout")


def test_fused_path_unchanged_for_plain_blocks():
    """A network without the new layers computes exactly what dense layers with fused
    bias+activation compute (the core's fast path), layer by layer."""
    net = gk.MLP([5, 33, 17, 3], activation="leaky_relu", output="tanh", seed=4)
    x = np.random.default_rng(0).standard_normal((9, 5)).astype(np.float32)
    h = x
    for (w, b), act in zip(net.get_weights(), ["leaky_relu", "leaky_relu", "tanh"]):
        h = gk._core.dense_forward(h, w, b, act, net.slope)
    np.testing.assert_array_equal(net(x), h)
    np.testing.assert_array_equal(net(x, training=True), h)
