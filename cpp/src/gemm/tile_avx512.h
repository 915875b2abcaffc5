// Internal to the AVX-512 micro-kernels (ukernel_avx512.cpp, ukernel_avx512_bf16.cpp):
// what their 12 x 32 tiles of C share whatever the arithmetic that fills them: the lane
// masks, the prefetch of C, and the one store at the end.
#pragma once

#include "../cpu/isa.h"

#if GANKIT_X86
#include <immintrin.h>

#include <cstdint>

#include "../cpu/simd_avx512.h"

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

// C (=|+=) the tile's rows lo[i] (columns 0-15) and hi[i] (16-31), masked to the m x n
// corner: masked lanes are neither loaded nor stored (and cannot fault), so nothing past
// the corner of C is touched. Inlined into each kernel, so the accumulators stay in
// registers.
GANKIT_TARGET_AVX512 __attribute__((always_inline)) inline void store_tile_masked(
    __m512 (&lo)[kAvx512TileRows], __m512 (&hi)[kAvx512TileRows], float* c, std::int64_t ldc,
    int m, int n, bool accumulate) {
  const __mmask16 mask_lo = first_lanes16(n);
  const __mmask16 mask_hi = first_lanes16(n - 16);
#pragma GCC unroll 16
  for (int i = 0; i < kAvx512TileRows; ++i) {
    if (i >= m) break;  // a constant trip count keeps lo/hi in registers
    float* row = c + i * ldc;
    if (accumulate) {
      lo[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(mask_lo, row), lo[i]);
      hi[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(mask_hi, row + 16), hi[i]);
    }
    _mm512_mask_storeu_ps(row, mask_lo, lo[i]);
    _mm512_mask_storeu_ps(row + 16, mask_hi, hi[i]);
  }
}

}  // namespace gemm_detail
}  // namespace gankit

#endif
