// Internal to the AVX-512 micro-kernels (ukernel_avx512.cpp, ukernel_avx512_bf16.cpp):
// what their 12 x 32 tiles of C share whatever the arithmetic that fills them: the lane
// masks, the prefetch of C, and the one store at the end with the fused epilogue.
#pragma once

#include "../cpu/isa.h"

#if GANKIT_X86
#include <immintrin.h>

#include <cstdint>

#include "../cpu/simd_avx512.h"
#include "ukernel.h"

namespace gankit {
namespace gemm_detail {

constexpr int kAvx512TileRows = 12;  // MR
constexpr int kAvx512TileCols = 32;  // NR: two zmm of 16 floats per row

using cpu_detail::first_lanes16;  // lanes [0, count) of 16

// The tile is written once at the end; asking for its m x n corner's lines now hides
// the miss behind the products.
inline void prefetch_tile(const float* c, std::int64_t ldc, int m, int n) {
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + n - 1), _MM_HINT_T0);
  }
}

// The epilogue on row i of the tile, in registers (TileEpilogue, ukernel.h): bias and
// a piecewise-linear activation, or times the activation's derivative from y, whose
// row is read only in the lanes of mask_lo/mask_hi (the tile's n columns).
GANKIT_TARGET_AVX512 __attribute__((always_inline)) inline void epilogue_row(
    const TileEpilogue& e, int i, __m512 bias_lo, __m512 bias_hi, __m512 slope,
    __mmask16 mask_lo, __mmask16 mask_hi, __m512& lo, __m512& hi) {
  if (e.kind == GemmEpilogue::Kind::bias_activation) {
    lo = cpu_detail::activate16(_mm512_add_ps(lo, bias_lo), e.activation, slope);
    hi = cpu_detail::activate16(_mm512_add_ps(hi, bias_hi), e.activation, slope);
  } else {
    const float* y = e.y + i * e.ldy;
    lo = cpu_detail::times_derivative16(_mm512_maskz_loadu_ps(mask_lo, y), lo, e.activation, slope);
    hi = cpu_detail::times_derivative16(_mm512_maskz_loadu_ps(mask_hi, y + 16), hi, e.activation, slope);
  }
}

// C (=|+=) the tile's rows lo[i] (columns 0-15) and hi[i] (16-31), then the epilogue
// (if given) before the one store, masked to the m x n corner: masked lanes are
// neither loaded nor stored (and cannot fault), so nothing past the corner of C, of
// the bias or of y is touched. A full tile (kFull) uses plain loads and stores. Inlined
// into each kernel, so the accumulators stay in registers.
template <bool kFull, int kRows>
GANKIT_TARGET_AVX512 __attribute__((always_inline)) inline void store_rows(
    __m512 (&lo)[kRows], __m512 (&hi)[kRows], float* c, std::int64_t ldc,
    int m, int n, bool accumulate, const TileEpilogue* epilogue) {
  const __mmask16 mask_lo = kFull ? 0xFFFF : first_lanes16(n);
  const __mmask16 mask_hi = kFull ? 0xFFFF : first_lanes16(n - 16);
  const __m512 slope = _mm512_set1_ps(epilogue != nullptr ? epilogue->slope : 0.0f);
  __m512 bias_lo = _mm512_setzero_ps(), bias_hi = _mm512_setzero_ps();
  if (epilogue != nullptr && epilogue->bias != nullptr) {
    bias_lo = _mm512_maskz_loadu_ps(mask_lo, epilogue->bias);
    bias_hi = _mm512_maskz_loadu_ps(mask_hi, epilogue->bias + 16);
  }
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) {
    if (!kFull && i >= m) break;  // a constant trip count keeps lo/hi in registers
    float* row = c + i * ldc;
    if (accumulate) {
      lo[i] = _mm512_add_ps(kFull ? _mm512_loadu_ps(row) : _mm512_maskz_loadu_ps(mask_lo, row), lo[i]);
      hi[i] = _mm512_add_ps(kFull ? _mm512_loadu_ps(row + 16) : _mm512_maskz_loadu_ps(mask_hi, row + 16),
                            hi[i]);
    }
    if (epilogue != nullptr) epilogue_row(*epilogue, i, bias_lo, bias_hi, slope, mask_lo, mask_hi, lo[i], hi[i]);
    if (kFull) {
      _mm512_storeu_ps(row, lo[i]);
      _mm512_storeu_ps(row + 16, hi[i]);
    } else {
      _mm512_mask_storeu_ps(row, mask_lo, lo[i]);
      _mm512_mask_storeu_ps(row + 16, mask_hi, hi[i]);
    }
  }
}

template <int kRows>
GANKIT_TARGET_AVX512 __attribute__((always_inline)) inline void store_tile(
    __m512 (&lo)[kRows], __m512 (&hi)[kRows], float* c, std::int64_t ldc,
    int m, int n, bool accumulate, const TileEpilogue* epilogue) {
  if (m == kRows && n == kAvx512TileCols)
    store_rows<true, kRows>(lo, hi, c, ldc, m, n, accumulate, epilogue);
  else
    store_rows<false, kRows>(lo, hi, c, ldc, m, n, accumulate, epilogue);  // an edge tile
}

}  // namespace gemm_detail
}  // namespace gankit

#endif
