// Sixteen-lane AVX-512 helpers shared by the kernels of several layers: the tail mask
// (the AVX-512 GEMM tiles and the activation rows) and the piecewise-linear activations
// (activation/row_kernels_avx512.cpp), the 512-bit twins of simd_avx2.h.
//
// The activations use the same operations per element as the scalar definitions in
// activation/row_kernels.h (compare, select, multiply, subtract; no FMA), so their
// results are bitwise equal to every other ISA's. Include only where GANKIT_X86.
#pragma once
#include <immintrin.h>

#include "gankit/activation.h"
#include "isa.h"

namespace gankit {
namespace cpu_detail {

// Lanes [0, count) of a 16-lane register; count may be <= 0 or > 16. Masked-off lanes
// of a masked load or store are never touched, so a tail needs no scalar loop.
inline __mmask16 first_lanes16(long long count) {
  if (count <= 0) return 0;
  if (count >= 16) return 0xFFFF;
  return static_cast<__mmask16>((1u << count) - 1u);
}

// x > 0 as a lane mask (false for NaN, like the scalar comparison).
GANKIT_TARGET_AVX512 inline __mmask16 positive16(__m512 x) {
  return _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
}

// The piecewise-linear activations; tanh and sigmoid are left to the smooth rows.
GANKIT_TARGET_AVX512 inline __m512 activate16(__m512 x, Activation act, __m512 slope) {
  switch (act) {
    case Activation::relu: return _mm512_maskz_mov_ps(positive16(x), x);
    case Activation::leaky_relu: return _mm512_mask_blend_ps(positive16(x), _mm512_mul_ps(slope, x), x);
    default: return x;
  }
}

// d * act'(.) from the activation's output y.
GANKIT_TARGET_AVX512 inline __m512 times_derivative16(__m512 y, __m512 d, Activation act, __m512 slope) {
  const __m512 one = _mm512_set1_ps(1.0f);
  switch (act) {
    case Activation::identity: return d;
    case Activation::relu: return _mm512_maskz_mov_ps(positive16(y), d);
    case Activation::leaky_relu: return _mm512_mask_blend_ps(positive16(y), _mm512_mul_ps(slope, d), d);
    case Activation::tanh: return _mm512_mul_ps(d, _mm512_sub_ps(one, _mm512_mul_ps(y, y)));
    case Activation::sigmoid: return _mm512_mul_ps(d, _mm512_mul_ps(y, _mm512_sub_ps(one, y)));
  }
  return d;
}

}  // namespace cpu_detail
}  // namespace gankit
