"""The GEMM against float64 NumPy, for every micro-kernel this CPU runs, on awkward
shapes: 1, primes, sizes that are not multiples of any SIMD width, and large ones."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gankit as gk
from conftest import KERNELS
import reference as ref
from reference import matmul_tolerance

AWKWARD = [1, 2, 3, 5, 7, 13, 16, 17, 31, 33, 64, 97, 129]
BF16 = gk._core.gemm_bf16_kernel()
needs_bf16 = pytest.mark.skipif(not BF16, reason="this CPU has no bf16 kernel (no AVX512-BF16)")
dims = st.one_of(st.sampled_from(AWKWARD), st.integers(1, 300))


def check_matmul(a, b, trans_a=False, trans_b=False):
    c = gk._core.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    expected = op_a.astype(np.float64) @ op_b.astype(np.float64)
    assert c.dtype == np.float32 and c.shape == expected.shape
    err = np.abs(c - expected)
    tol = matmul_tolerance(op_a, op_b)
    assert np.all(err <= tol), f"max excess {np.max(err - tol)} at shape {c.shape}"


@pytest.mark.parametrize("kernel", KERNELS)
@given(m=dims, n=dims, k=dims, trans_a=st.booleans(), trans_b=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_matmul_matches_float64_reference(kernel, m, n, k, trans_a, trans_b, seed):
    gk._core.select_gemm_kernel(kernel)
    r = np.random.default_rng(seed)
    a = r.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = r.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    check_matmul(a, b, trans_a, trans_b)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 1000, 1), (1000, 1, 3), (257, 263, 521),
                                   (600, 37, 1100), (64, 4200, 40)])
def test_matmul_large_and_thin_shapes(kernel, shape, rng):
    gk._core.select_gemm_kernel(kernel)
    m, n, k = shape
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    check_matmul(a, b)
    check_matmul(np.ascontiguousarray(a.T), b, trans_a=True)
    check_matmul(a, np.ascontiguousarray(b.T), trans_b=True)


@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=needs_bf16)])
def test_matmul_bitwise_identical_across_thread_counts(precision, rng):
    a = rng.standard_normal((301, 517)).astype(np.float32)
    b = rng.standard_normal((517, 389)).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        gk.set_num_threads(threads)
        results.append(gk._core.matmul(a, b, precision=precision))
        results.append(gk._core.matmul(np.ascontiguousarray(a.T), b, trans_a=True, precision=precision))
    for t in range(1, 3):
        assert np.array_equal(results[0], results[2 * t])
        assert np.array_equal(results[1], results[2 * t + 1])


def test_kernel_registry():
    assert gk._core.gemm_kernel() in KERNELS
    assert "generic" in KERNELS
    with pytest.raises(ValueError, match="kernel"):
        gk._core.select_gemm_kernel("no_such_kernel")


def test_matmul_rejects_mismatched_inner_dimensions():
    with pytest.raises(ValueError, match="inner dimensions"):
        gk._core.matmul(np.ones((3, 4), np.float32), np.ones((5, 2), np.float32))


# The boundary's finiteness scan works block by block (a branch-free pass per block, the
# exact index looked for only in a block that has a bad value) and releases the GIL for
# large arrays: the first offender must be reported wherever it lies, for either dtype.
# 1e39 is no float32; as a float64 it is "beyond float32's range".
@pytest.mark.parametrize("dtype, bad", [(np.float32, np.nan), (np.float32, np.inf),
                                        (np.float32, -np.inf), (np.float64, np.nan),
                                        (np.float64, -np.inf), (np.float64, 1e39)])
@pytest.mark.parametrize("size", [1, 7, 2048, 2049, 300 * 300])
@given(data=st.data())
def test_matmul_reports_the_first_non_finite_value(dtype, bad, size, data):
    a = np.ones((size, 1), dtype=dtype)
    first = data.draw(st.integers(0, size - 1), label="first")
    later = data.draw(st.lists(st.integers(first, size - 1), max_size=3), label="later")
    a[[first, *later], 0] = bad
    expected = "NaN" if np.isnan(bad) else ("Inf" if np.isinf(bad) else "beyond float32's range")
    with pytest.raises(ValueError, match=rf"a: expected finite float32 values, got .*{expected}.* at flat index {first}$"):
        gk._core.matmul(a, np.ones((1, 1), dtype=dtype))


def test_matmul_accepts_float32_extremes():
    """The largest finite float32 values and subnormals pass the scan."""
    extremes = np.array([[np.finfo(np.float32).max], [-np.finfo(np.float32).max],
                         [np.finfo(np.float32).smallest_subnormal], [0.0]], dtype=np.float32)
    out = gk._core.matmul(extremes, np.ones((1, 1), dtype=np.float32))
    np.testing.assert_array_equal(out, extremes)
    as_float64 = gk._core.matmul(extremes.astype(np.float64), np.ones((1, 1)))
    np.testing.assert_array_equal(as_float64, extremes)


# bf16 products: the operands rounded to bfloat16, the sums float32. Against float64 on
# operands rounded by an independent NumPy rounding, what is left is float32
# accumulation, so the float32 bound holds; against the unrounded operands, the bf16 bound.


@needs_bf16
@given(m=dims, n=dims, k=dims, trans_a=st.booleans(), trans_b=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_bf16_matmul_is_the_float32_product_of_bf16_operands(m, n, k, trans_a, trans_b, seed):
    r = np.random.default_rng(seed)
    a = r.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = r.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    c = gk._core.matmul(a, b, trans_a=trans_a, trans_b=trans_b, precision="bf16")
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    skinny = n <= 4  # products at most 4 wide stay float32
    ra, rb = (op_a, op_b) if skinny else (ref.round_to_bf16(op_a), ref.round_to_bf16(op_b))
    expected = ra.astype(np.float64) @ rb.astype(np.float64)
    assert np.all(np.abs(c - expected) <= matmul_tolerance(ra, rb))
    exact = op_a.astype(np.float64) @ op_b.astype(np.float64)
    assert np.all(np.abs(c - exact) <= ref.bf16_matmul_tolerance(op_a, op_b))


@needs_bf16
def test_bf16_matmul_rounds_exactly_and_differs_from_float32(rng):
    """K = 1: every element is one product of two bf16, exact in float32."""
    a = rng.standard_normal((37, 1)).astype(np.float32)
    b = rng.standard_normal((1, 53)).astype(np.float32)
    c = gk._core.matmul(a, b, precision="bf16")
    np.testing.assert_array_equal(c, ref.round_to_bf16(a) * ref.round_to_bf16(b))
    assert not np.array_equal(c, gk._core.matmul(a, b))


def test_bf16_where_unsupported_is_a_clear_error():
    assert gk.build_info()["bf16_kernel"] == (BF16 or None)
    if BF16:
        return
    with pytest.raises(ValueError, match="AVX512-BF16"):
        gk._core.matmul(np.ones((8, 8), np.float32), np.ones((8, 8), np.float32), precision="bf16")


def test_matmul_rejects_an_unknown_precision():
    with pytest.raises(ValueError, match=r"precision: expected 'fp32' or 'bf16', got 'fp16'"):
        gk._core.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), precision="fp16")
