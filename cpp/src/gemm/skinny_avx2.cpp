// AVX2+FMA skinny loops (see skinny.h): eight lanes along k (dot) or along i (axpy),
// several rows or columns of C at once for independent FMA chains, masked loads for the
// tails. Each element's sum has a fixed order (lane partial sums, then a fixed
// horizontal reduction), whatever the thread count.
#include "skinny.h"

#include "../cpu/isa.h"

#if GANKIT_X86
#include <immintrin.h>

#include "../cpu/simd_avx2.h"
#endif

namespace gankit {
namespace gemm_detail {

#if GANKIT_X86
namespace {

using cpu_detail::first_lanes8;

GANKIT_TARGET_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// R rows of A against N columns: R * N accumulators of eight lanes along k.
template <int R, int N>
GANKIT_TARGET_AVX2 void dot_block(std::int64_t k, const float* a, std::int64_t lda,
                                  const float* bt, float* c, std::int64_t ldc, bool accumulate) {
  __m256 acc[R][N];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < N; ++j) acc[r][j] = _mm256_setzero_ps();
  std::int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 b[N];
    for (int j = 0; j < N; ++j) b[j] = _mm256_loadu_ps(bt + j * k + p);
    for (int r = 0; r < R; ++r) {
      const __m256 a_r = _mm256_loadu_ps(a + r * lda + p);
      for (int j = 0; j < N; ++j) acc[r][j] = _mm256_fmadd_ps(a_r, b[j], acc[r][j]);
    }
  }
  if (p < k) {
    const __m256i mask = first_lanes8(k - p);
    __m256 b[N];
    for (int j = 0; j < N; ++j) b[j] = _mm256_maskload_ps(bt + j * k + p, mask);
    for (int r = 0; r < R; ++r) {
      const __m256 a_r = _mm256_maskload_ps(a + r * lda + p, mask);
      for (int j = 0; j < N; ++j) acc[r][j] = _mm256_fmadd_ps(a_r, b[j], acc[r][j]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < N; ++j) {
      const float sum = horizontal_sum(acc[r][j]);
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + sum : sum;
    }
}

// Eight accumulators at most: 8 rows for one column, 4 for two, 2 for three or four.
template <int N>
GANKIT_TARGET_AVX2 void dot_n(std::int64_t rows, std::int64_t k, const float* a,
                              std::int64_t lda, const float* bt, float* c, std::int64_t ldc,
                              bool accumulate) {
  constexpr int R = N == 1 ? 8 : (N == 2 ? 4 : 2);
  std::int64_t i = 0;
  for (; i + R <= rows; i += R) dot_block<R, N>(k, a + i * lda, lda, bt, c + i * ldc, ldc, accumulate);
  for (; i < rows; ++i) dot_block<1, N>(k, a + i * lda, lda, bt, c + i * ldc, ldc, accumulate);
}

GANKIT_TARGET_AVX2 void dot(std::int64_t rows, std::int64_t k, int n, const float* a,
                            std::int64_t lda, const float* bt, float* c, std::int64_t ldc,
                            bool accumulate) {
  switch (n) {
    case 1: return dot_n<1>(rows, k, a, lda, bt, c, ldc, accumulate);
    case 2: return dot_n<2>(rows, k, a, lda, bt, c, ldc, accumulate);
    case 3: return dot_n<3>(rows, k, a, lda, bt, c, ldc, accumulate);
    default: return dot_n<4>(rows, k, a, lda, bt, c, ldc, accumulate);
  }
}

// V vectors of eight rows of C (valid: `valid` rows) against N columns, along k.
template <int V, int N>
GANKIT_TARGET_AVX2 void axpy_block(std::int64_t valid, std::int64_t k, const float* x,
                                   std::int64_t ldx, const float* b, std::int64_t b_rs,
                                   std::int64_t b_cs, float* c, std::int64_t ldc,
                                   bool accumulate) {
  __m256 acc[V][N];
  __m256i mask[V];
  for (int v = 0; v < V; ++v) {
    mask[v] = first_lanes8(valid - 8 * v);
    for (int j = 0; j < N; ++j) acc[v][j] = _mm256_setzero_ps();
  }
  const bool full = valid == 8 * V;
  for (std::int64_t p = 0; p < k; ++p) {
    const float* x_row = x + p * ldx;
    __m256 b_p[N];
    for (int j = 0; j < N; ++j) b_p[j] = _mm256_broadcast_ss(b + p * b_rs + j * b_cs);
    for (int v = 0; v < V; ++v) {
      const __m256 x_v = full ? _mm256_loadu_ps(x_row + 8 * v) : _mm256_maskload_ps(x_row + 8 * v, mask[v]);
      for (int j = 0; j < N; ++j) acc[v][j] = _mm256_fmadd_ps(x_v, b_p[j], acc[v][j]);
    }
  }
  alignas(32) float lanes[8];
  for (int v = 0; v < V; ++v)
    for (int j = 0; j < N; ++j) {
      _mm256_store_ps(lanes, acc[v][j]);
      for (int r = 0; r < 8 && 8 * v + r < valid; ++r) {
        float& out = c[(8 * v + r) * ldc + j];
        out = accumulate ? out + lanes[r] : lanes[r];
      }
    }
}

template <int N>
GANKIT_TARGET_AVX2 void axpy_n(std::int64_t rows, std::int64_t k, const float* x,
                               std::int64_t ldx, const float* b, std::int64_t b_rs,
                               std::int64_t b_cs, float* c, std::int64_t ldc, bool accumulate) {
  constexpr int V = N == 1 ? 8 : (N == 2 ? 4 : 2);
  for (std::int64_t i = 0; i < rows; i += 8 * V)
    axpy_block<V, N>(rows - i < 8 * V ? rows - i : 8 * V, k, x + i, ldx, b, b_rs, b_cs,
                     c + i * ldc, ldc, accumulate);
}

GANKIT_TARGET_AVX2 void axpy(std::int64_t rows, std::int64_t k, int n, const float* x,
                             std::int64_t ldx, const float* b, std::int64_t b_rs,
                             std::int64_t b_cs, float* c, std::int64_t ldc, bool accumulate) {
  switch (n) {
    case 1: return axpy_n<1>(rows, k, x, ldx, b, b_rs, b_cs, c, ldc, accumulate);
    case 2: return axpy_n<2>(rows, k, x, ldx, b, b_rs, b_cs, c, ldc, accumulate);
    case 3: return axpy_n<3>(rows, k, x, ldx, b, b_rs, b_cs, c, ldc, accumulate);
    default: return axpy_n<4>(rows, k, x, ldx, b, b_rs, b_cs, c, ldc, accumulate);
  }
}

}  // namespace

const SkinnyKernels& avx2_skinny_kernels() {
  static const SkinnyKernels kernels{dot, axpy};
  return kernels;
}

#else

const SkinnyKernels& avx2_skinny_kernels() { return generic_skinny_kernels(); }

#endif

}  // namespace gemm_detail
}  // namespace gankit
