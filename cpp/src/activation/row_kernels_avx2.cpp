// AVX2 row kernels: eight floats per step (cpu/simd_avx2.h), a masked load/store for
// the tail; tanh and sigmoid run their own vectorised rows (smooth_rows.cpp).
#include "../cpu/isa.h"
#include "row_kernels.h"

#if GANKIT_X86
#include "../cpu/simd_avx2.h"
#endif

namespace gankit {
namespace activation_detail {

#if GANKIT_X86
namespace {

using cpu_detail::activate8;
using cpu_detail::first_lanes8;
using cpu_detail::times_derivative8;

GANKIT_TARGET_AVX2 void bias_activation_row(const float* in, const float* bias, float* out,
                                            std::int64_t n, Activation act, float slope) {
  if (act == Activation::tanh) return tanh_row(in, bias, out, n);
  if (act == Activation::sigmoid) return sigmoid_row(in, bias, out, n);
  const __m256 slope8 = _mm256_set1_ps(slope);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(in + i);
    if (bias != nullptr) x = _mm256_add_ps(x, _mm256_loadu_ps(bias + i));
    _mm256_storeu_ps(out + i, activate8(x, act, slope8));
  }
  if (i < n) {
    const __m256i mask = first_lanes8(n - i);
    __m256 x = _mm256_maskload_ps(in + i, mask);
    if (bias != nullptr) x = _mm256_add_ps(x, _mm256_maskload_ps(bias + i, mask));
    _mm256_maskstore_ps(out + i, mask, activate8(x, act, slope8));
  }
}

GANKIT_TARGET_AVX2 void gradient_row(const float* y, const float* d_in, float* d_out,
                                     std::int64_t n, Activation act, float slope) {
  if (act == Activation::identity && d_in == d_out) return;
  const __m256 slope8 = _mm256_set1_ps(slope);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 d = times_derivative8(_mm256_loadu_ps(y + i), _mm256_loadu_ps(d_in + i), act, slope8);
    _mm256_storeu_ps(d_out + i, d);
  }
  if (i < n) {
    const __m256i mask = first_lanes8(n - i);
    const __m256 d = times_derivative8(_mm256_maskload_ps(y + i, mask),
                                       _mm256_maskload_ps(d_in + i, mask), act, slope8);
    _mm256_maskstore_ps(d_out + i, mask, d);
  }
}

}  // namespace

const RowKernels* avx2_row_kernels() {
  static const RowKernels kernels{"avx2", bias_activation_row, gradient_row};
  return &kernels;
}

#else

const RowKernels* avx2_row_kernels() { return nullptr; }

#endif

}  // namespace activation_detail
}  // namespace gankit
