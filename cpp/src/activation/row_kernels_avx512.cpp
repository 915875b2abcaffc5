// AVX-512 row kernels: sixteen floats per step (cpu/simd_avx512.h), the tail in one
// masked load/store (masked-off lanes are never read or written); tanh and sigmoid run
// their own vectorised rows (smooth_rows.cpp, cloned for AVX-512 too).
#include "../cpu/isa.h"
#include "row_kernels.h"

#if GANKIT_X86
#include "../cpu/simd_avx512.h"
#endif

namespace gankit {
namespace activation_detail {

#if GANKIT_X86
namespace {

using cpu_detail::activate16;
using cpu_detail::first_lanes16;
using cpu_detail::times_derivative16;

GANKIT_TARGET_AVX512 void bias_activation_row(const float* in, const float* bias, float* out,
                                              std::int64_t n, Activation act, float slope) {
  if (act == Activation::tanh) return tanh_row(in, bias, out, n);
  if (act == Activation::sigmoid) return sigmoid_row(in, bias, out, n);
  const __m512 slope16 = _mm512_set1_ps(slope);
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(in + i);
    if (bias != nullptr) x = _mm512_add_ps(x, _mm512_loadu_ps(bias + i));
    _mm512_storeu_ps(out + i, activate16(x, act, slope16));
  }
  if (i < n) {
    const __mmask16 mask = first_lanes16(n - i);
    __m512 x = _mm512_maskz_loadu_ps(mask, in + i);
    if (bias != nullptr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, bias + i));
    _mm512_mask_storeu_ps(out + i, mask, activate16(x, act, slope16));
  }
}

GANKIT_TARGET_AVX512 void gradient_row(const float* y, const float* d_in, float* d_out,
                                       std::int64_t n, Activation act, float slope) {
  if (act == Activation::identity && d_in == d_out) return;
  const __m512 slope16 = _mm512_set1_ps(slope);
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 d = times_derivative16(_mm512_loadu_ps(y + i), _mm512_loadu_ps(d_in + i), act, slope16);
    _mm512_storeu_ps(d_out + i, d);
  }
  if (i < n) {
    const __mmask16 mask = first_lanes16(n - i);
    const __m512 d = times_derivative16(_mm512_maskz_loadu_ps(mask, y + i),
                                        _mm512_maskz_loadu_ps(mask, d_in + i), act, slope16);
    _mm512_mask_storeu_ps(d_out + i, mask, d);
  }
}

}  // namespace

const RowKernels* avx512_row_kernels() {
  static const RowKernels kernels{"avx512", bias_activation_row, gradient_row};
  return &kernels;
}

#else

const RowKernels* avx512_row_kernels() { return nullptr; }

#endif

}  // namespace activation_detail
}  // namespace gankit
