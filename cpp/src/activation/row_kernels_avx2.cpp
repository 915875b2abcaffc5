// AVX2 row kernels: eight floats per step (simd_avx2.h), a masked load/store for the
// tail; tanh and sigmoid run their own vectorised rows (smooth_rows.cpp).
#include "row_kernels.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define GANKIT_ACTIVATION_AVX2 1
#include "simd_avx2.h"
#else
#define GANKIT_ACTIVATION_AVX2 0
#endif

namespace gankit {
namespace activation_detail {

#if GANKIT_ACTIVATION_AVX2
namespace {

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

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

}  // namespace

const RowKernels* avx2_row_kernels() {
  static const RowKernels kernels{"avx2", bias_activation_row, gradient_row};
  static const bool supported = cpu_has_avx2();
  return supported ? &kernels : nullptr;
}

#else

const RowKernels* avx2_row_kernels() { return nullptr; }

#endif

const RowKernels& active_row_kernels() {
  static const RowKernels& chosen =
      avx2_row_kernels() != nullptr ? *avx2_row_kernels() : generic_row_kernels();
  return chosen;
}

}  // namespace activation_detail
}  // namespace gankit
