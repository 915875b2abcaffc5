// Eight-lane AVX2 helpers shared by the kernels of several layers: the activations
// (used by the activation row kernels and by the GEMM micro-kernel that fuses them into
// its store) and the tail mask (also used by the skinny GEMM loops).
//
// The activations use the same operations per element as the scalar definitions in
// activation/row_kernels.h (compare, blend, multiply, add; no FMA), so fused,
// vectorised and scalar results are bitwise equal. Include only where GANKIT_X86.
#pragma once
#include <immintrin.h>

#include "gankit/activation.h"
#include "isa.h"

namespace gankit {
namespace cpu_detail {

// x > 0 as a lane mask (false for NaN, like the scalar comparison).
GANKIT_TARGET_AVX2 inline __m256 positive8(__m256 x) {
  return _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
}

// The piecewise-linear activations; tanh and sigmoid are left to the scalar code.
GANKIT_TARGET_AVX2 inline __m256 activate8(__m256 x, Activation act, __m256 slope) {
  switch (act) {
    case Activation::relu: return _mm256_blendv_ps(_mm256_setzero_ps(), x, positive8(x));
    case Activation::leaky_relu: return _mm256_blendv_ps(_mm256_mul_ps(slope, x), x, positive8(x));
    default: return x;
  }
}

// d * act'(.) from the activation's output y.
GANKIT_TARGET_AVX2 inline __m256 times_derivative8(__m256 y, __m256 d, Activation act, __m256 slope) {
  const __m256 one = _mm256_set1_ps(1.0f);
  switch (act) {
    case Activation::identity: return d;
    case Activation::relu: return _mm256_blendv_ps(_mm256_setzero_ps(), d, positive8(y));
    case Activation::leaky_relu: return _mm256_blendv_ps(_mm256_mul_ps(slope, d), d, positive8(y));
    case Activation::tanh: return _mm256_mul_ps(d, _mm256_sub_ps(one, _mm256_mul_ps(y, y)));
    case Activation::sigmoid: return _mm256_mul_ps(d, _mm256_mul_ps(y, _mm256_sub_ps(one, y)));
  }
  return d;
}

// Lanes [0, count) all-ones; count may be <= 0 or > 8.
GANKIT_TARGET_AVX2 inline __m256i first_lanes8(long long count) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int clamped = static_cast<int>(count < 0 ? 0 : (count > 8 ? 8 : count));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(clamped), lane);
}

}  // namespace cpu_detail
}  // namespace gankit
