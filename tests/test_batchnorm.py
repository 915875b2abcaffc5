"""The batch-norm kernels against the float64 reference (PyTorch BatchNorm1d's definition),
finite differences, segments normalised separately, the one-row case, and thread
determinism."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
import reference as ref

features_st = st.one_of(st.sampled_from([1, 2, 3, 7, 16, 17, 31, 63, 64, 65, 97, 130, 257]),
                        st.integers(1, 300))
# Row counts of the segments: at least 2 each in training mode (batch 2 included).
segments_st = st.lists(st.one_of(st.sampled_from([2, 3, 5, 16, 17]), st.integers(2, 60)),
                       min_size=1, max_size=3)


def bn_inputs(rng, rows, features, offset=0.0):
    z = (rng.standard_normal((rows, features)) * rng.uniform(0.1, 3, features) + offset).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, features).astype(np.float32)
    beta = rng.standard_normal(features).astype(np.float32)
    return z, gamma, beta


def tolerance(reference):
    return 2e-5 * np.sqrt(reference.shape[0]) * (1 + np.abs(reference))


@given(segments=segments_st, features=features_st, seed=st.integers(0, 2**32 - 1))
def test_training_forward_and_backward_match_reference(segments, features, seed):
    rng = np.random.default_rng(seed)
    rows = sum(segments)
    z, gamma, beta = bn_inputs(rng, rows, features, offset=rng.uniform(-3, 3))
    running = (rng.standard_normal(features).astype(np.float32),
               rng.uniform(0.1, 2, features).astype(np.float32))
    y, mean, rstd, rm, rv = gk._core.batchnorm_forward_training(z, gamma, beta, *running, segments=segments)
    y_ref, caches, (rm_ref, rv_ref) = ref.batchnorm_segments_forward(z, gamma, beta, segments, running)
    assert y.shape == (rows, features) and mean.shape == rstd.shape == (len(segments), features)
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=2e-4)
    np.testing.assert_allclose(mean, [c[1] for c in caches], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rstd, [1 / np.sqrt(c[2] + ref.BN_EPS) for c in caches], rtol=1e-4)
    np.testing.assert_allclose(rm, rm_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rv, rv_ref, rtol=1e-5, atol=1e-5)

    d_y = rng.standard_normal((rows, features)).astype(np.float32)
    d_z, d_gamma, d_beta = gk._core.batchnorm_backward_training(z, gamma, mean, rstd, d_y, segments=segments)
    d_z_ref, d_gamma_ref, d_beta_ref = ref.batchnorm_segments_backward(d_y, gamma, caches)
    # d_z is a difference of O(1) terms that cancel to O(1/sqrt(n)): absolute tolerance.
    scale = np.abs(gamma) * np.max([1 / np.sqrt(c[2] + ref.BN_EPS) for c in caches], axis=0)
    np.testing.assert_allclose(d_z, d_z_ref, rtol=1e-3, atol=2e-4 * scale.max())
    np.testing.assert_allclose(d_gamma, d_gamma_ref, rtol=1e-4, atol=1e-4 * np.sqrt(rows))
    np.testing.assert_allclose(d_beta, d_beta_ref, rtol=1e-5, atol=1e-5 * np.sqrt(rows))


@given(rows=st.one_of(st.sampled_from([1, 2, 3]), st.integers(1, 80)), features=features_st,
       seed=st.integers(0, 2**32 - 1))
def test_inference_forward_and_backward_match_reference(rows, features, seed):
    rng = np.random.default_rng(seed)
    z, gamma, beta = bn_inputs(rng, rows, features)
    rm = rng.standard_normal(features).astype(np.float32)
    rv = rng.uniform(0.0, 3, features).astype(np.float32)  # a variance of 0 is allowed here
    y = gk._core.batchnorm_forward_inference(z, gamma, beta, rm, rv)
    y_ref, z_hat = ref.batchnorm_inference(z, gamma, beta, rm, rv)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5 * np.abs(z_hat).max(initial=1))
    d_y = rng.standard_normal((rows, features)).astype(np.float32)
    d_z, d_gamma, d_beta = gk._core.batchnorm_backward_inference(z, gamma, rm, rv, d_y)
    np.testing.assert_allclose(d_z, d_y * gamma / np.sqrt(rv.astype(np.float64) + ref.BN_EPS), rtol=1e-5)
    np.testing.assert_allclose(d_gamma, (d_y * z_hat).sum(0), rtol=1e-4,
                               atol=1e-5 * np.sqrt(rows) * np.abs(z_hat).max(initial=1))
    np.testing.assert_allclose(d_beta, d_y.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5 * np.sqrt(rows))


def numerical_gradient(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        grad[i] = (f(plus) - f(minus)) / (2 * h)
    return grad


@pytest.mark.parametrize("segments", [[5], [2, 3], [4, 2, 3]])
def test_gradients_match_finite_differences(segments):
    """loss = sum(w * BN(z)): the reference's analytic gradient and the kernel's both agree
    with central differences of the float64 forward pass."""
    rng = np.random.default_rng(len(segments))
    rows, features = sum(segments), 4
    z, gamma, beta = (a.astype(np.float64) for a in bn_inputs(rng, rows, features, offset=1.0))
    w = rng.standard_normal((rows, features))

    def loss(z_, gamma_, beta_):
        return np.sum(ref.batchnorm_segments_forward(z_, gamma_, beta_, segments)[0] * w)

    fd = {"z": numerical_gradient(lambda v: loss(v, gamma, beta), z),
          "gamma": numerical_gradient(lambda v: loss(z, v, beta), gamma),
          "beta": numerical_gradient(lambda v: loss(z, gamma, v), beta)}
    _, caches, _ = ref.batchnorm_segments_forward(z, gamma, beta, segments)
    reference = dict(zip(("z", "gamma", "beta"), ref.batchnorm_segments_backward(w, gamma, caches)))
    _, mean, rstd, _, _ = gk._core.batchnorm_forward_training(z, gamma, beta, segments=segments)
    kernel = dict(zip(("z", "gamma", "beta"),
                      gk._core.batchnorm_backward_training(z, gamma, mean, rstd, w, segments=segments)))
    for name in fd:
        np.testing.assert_allclose(reference[name], fd[name], rtol=1e-6, atol=1e-7, err_msg=f"reference d_{name}")
        np.testing.assert_allclose(kernel[name], fd[name], rtol=2e-3, atol=2e-4, err_msg=f"kernel d_{name}")


def test_segments_equal_separate_calls_with_running_statistics_in_order():
    rng = np.random.default_rng(3)
    z, gamma, beta = bn_inputs(rng, 12, 9)
    y, _, _, rm, rv = gk._core.batchnorm_forward_training(z, gamma, beta, segments=[7, 5])
    y1, _, _, rm1, rv1 = gk._core.batchnorm_forward_training(z[:7], gamma, beta)
    y2, _, _, rm2, rv2 = gk._core.batchnorm_forward_training(z[7:], gamma, beta, rm1, rv1)
    np.testing.assert_array_equal(y, np.concatenate([y1, y2]))
    np.testing.assert_array_equal(rm, rm2)
    np.testing.assert_array_equal(rv, rv2)
    # ... and differs from normalising the stacked batch as one.
    y_joint = gk._core.batchnorm_forward_training(z, gamma, beta)[0]
    assert not np.allclose(y, y_joint, atol=1e-3)


def test_running_statistics_follow_pytorch_semantics():
    """Momentum 0.1 from mean 0 / variance 1, with the unbiased variance, written out."""
    z = np.array([[1.0], [2.0], [6.0]], np.float32)  # mean 3, biased var 14/3, unbiased 7
    _, mean, rstd, rm, rv = gk._core.batchnorm_forward_training(z, np.ones(1), np.zeros(1))
    assert mean[0, 0] == pytest.approx(3.0)
    assert rstd[0, 0] == pytest.approx(1 / np.sqrt(14 / 3 + 1e-5), rel=1e-6)
    assert rm[0] == pytest.approx(0.3) and rv[0] == pytest.approx(0.9 + 0.7)


def test_one_row_segment_is_refused_and_two_equal_rows_give_beta():
    z, gamma, beta = np.ones((3, 2), np.float32), np.ones(2), np.array([0.5, -1.0])
    with pytest.raises(ValueError, match=r"segment 1: expected at least 2 rows .* got 1"):
        gk._core.batchnorm_forward_training(z, gamma, beta, segments=[2, 1])
    with pytest.raises(ValueError, match=r"segment 0: expected at least 2 rows"):
        gk._core.batchnorm_forward_training(z[:1], gamma, beta)
    # Two equal rows: variance 0, z_hat 0, so y = beta and d_z = 0, all finite.
    y, mean, rstd, _, rv = gk._core.batchnorm_forward_training(z[:2], gamma, beta)
    np.testing.assert_array_equal(y, np.tile(beta.astype(np.float32), (2, 1)))
    assert np.all(np.isfinite(rstd)) and np.allclose(rv, 0.9)
    d_z, d_gamma, d_beta = gk._core.batchnorm_backward_training(z[:2], gamma, mean, rstd, np.ones((2, 2)))
    np.testing.assert_array_equal(d_z, 0)
    np.testing.assert_array_equal(d_beta, [2, 2])


def test_large_mean_does_not_cancel():
    """Two-pass statistics: a feature with mean 1e4 and std 1e-1 normalises accurately."""
    rng = np.random.default_rng(5)
    z = (1e4 + 0.1 * rng.standard_normal((256, 3))).astype(np.float32)
    y = gk._core.batchnorm_forward_training(z, np.ones(3), np.zeros(3))[0]
    y_ref = ref.batchnorm_forward(z, np.ones(3), np.zeros(3))[0]
    np.testing.assert_allclose(y, y_ref, atol=5e-3)


def test_bitwise_identical_for_one_and_two_threads():
    rng = np.random.default_rng(6)
    z, gamma, beta = bn_inputs(rng, 700, 1031)
    d_y = rng.standard_normal(z.shape).astype(np.float32)
    results = []
    for threads in (1, 2):
        gk.set_num_threads(threads)
        y, mean, rstd, rm, rv = gk._core.batchnorm_forward_training(z, gamma, beta, segments=[300, 400])
        back = gk._core.batchnorm_backward_training(z, gamma, mean, rstd, d_y, segments=[300, 400])
        results.append((y, mean, rstd, rm, rv, *back))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call, error, match", [
    (lambda z: gk._core.batchnorm_forward_training(z, np.ones(2), np.zeros(3)), ValueError,
     "gamma: expected a 1-D array of length 3"),
    (lambda z: gk._core.batchnorm_forward_training(z, np.ones(3), np.zeros(3), segments=[2, 2]), ValueError,
     "segments: expected row counts summing to the batch's 5 rows"),
    (lambda z: gk._core.batchnorm_forward_training(z, np.ones(3), np.zeros(3), segments=[5, 0]), ValueError,
     r"segments\[1\]: expected a positive row count"),
    (lambda z: gk._core.batchnorm_forward_training(z, np.ones(3), np.zeros(3), segments="ab"), TypeError,
     "segments: expected a list of row counts"),
    (lambda z: gk._core.batchnorm_forward_training(z, np.ones(3), np.zeros(3), None, -np.ones(3)), ValueError,
     "running_var: expected variances >= 0"),
    (lambda z: gk._core.batchnorm_forward_training(z, np.ones(3), np.zeros(3), eps=0.0), ValueError, "eps"),
    (lambda z: gk._core.batchnorm_forward_training(z, np.ones(3), np.zeros(3), momentum=1.5), ValueError,
     "momentum"),
    (lambda z: gk._core.batchnorm_forward_training(np.full((5, 3), np.nan), np.ones(3), np.zeros(3)),
     ValueError, "z: expected finite"),
    (lambda z: gk._core.batchnorm_backward_training(z, np.ones(3), np.zeros((2, 3)), np.ones((2, 3)),
                                                    np.ones((5, 3))), ValueError, "one row per segment"),
    (lambda z: gk._core.batchnorm_backward_training(z, np.ones(3), np.zeros((1, 3)), np.ones((1, 3)),
                                                    np.ones((4, 3))), ValueError, "d_y: expected 5 rows"),
    (lambda z: gk._core.batchnorm_forward_inference(z, np.ones(3), np.zeros(3), np.zeros(3), -np.ones(3)),
     ValueError, "running_var"),
    (lambda z: gk._core.batchnorm_forward_inference(z.astype(np.int32), np.ones(3), np.zeros(3), np.zeros(3),
                                                    np.ones(3)), TypeError, "z: expected a float32 or float64"),
])
def test_arguments_are_validated(call, error, match):
    with pytest.raises(error, match=match):
        call(np.ones((5, 3), np.float32))
