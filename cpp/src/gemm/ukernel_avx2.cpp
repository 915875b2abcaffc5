// The AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators.
//
// Why 6 x 16: of the 16 ymm registers, 12 hold C, 2 hold a row of B and 1 a broadcast
// element of A. 12 independent FMA chains cover the FMA latency (4 cycles) times its
// throughput (2 per cycle) with room to spare, and each k step does 12 FMAs for 8
// loads (2 of B, 6 broadcasts of A), under the load ports' limit.
//
// Two readings of A: packed (an MR-tall micro-panel), or in place when A is row-major
// (six row pointers sharing one index), which spares the framework packing A for the
// x w and d_z wᵀ products of a dense layer. The epilogue (bias + relu/leaky ReLU, or
// times an activation derivative) is applied in registers before the single store.
#include <cstdint>

#include "../cpu/cpu_features.h"
#include "../cpu/isa.h"
#include "skinny.h"
#include "ukernel.h"

#if GANKIT_X86
#include "../cpu/simd_avx2.h"
#endif

namespace gankit {
namespace gemm_detail {

#if GANKIT_X86
namespace {

using cpu_detail::activate8;
using cpu_detail::first_lanes8;
using cpu_detail::times_derivative8;

constexpr int kMR = 6;
constexpr int kNR = 16;

// The epilogue on row i of the tile, in registers. Loads only the lanes in `mask_*`
// of y (the edge of the tile; all lanes otherwise).
GANKIT_TARGET_AVX2 inline void epilogue_row(const TileEpilogue& e, int i, __m256 bias_lo,
                                            __m256 bias_hi, __m256 slope, __m256i mask_lo,
                                            __m256i mask_hi, __m256& lo, __m256& hi) {
  if (e.kind == GemmEpilogue::Kind::bias_activation) {
    lo = activate8(_mm256_add_ps(lo, bias_lo), e.activation, slope);
    hi = activate8(_mm256_add_ps(hi, bias_hi), e.activation, slope);
  } else {
    const float* y = e.y + i * e.ldy;
    lo = times_derivative8(_mm256_maskload_ps(y, mask_lo), lo, e.activation, slope);
    hi = times_derivative8(_mm256_maskload_ps(y + 8, mask_hi), hi, e.activation, slope);
  }
}

template <bool kPackedA>
GANKIT_TARGET_AVX2 inline void avx2_6x16(std::int64_t k, const float* a, std::int64_t lda,
                                         const float* b, float* c, std::int64_t ldc, int m, int n,
                                         bool accumulate, const TileEpilogue* epilogue) {
  __m256 lo[kMR], hi[kMR];  // row i of the tile: columns 0-7 and 8-15
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) lo[i] = hi[i] = _mm256_setzero_ps();

  // The tile is written once at the end; asking for its lines now hides the miss.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + n - 1), _MM_HINT_T0);
  }

  if constexpr (kPackedA) {
#pragma GCC unroll 4
    for (std::int64_t p = 0; p < k; ++p) {
      const __m256 b_lo = _mm256_load_ps(b);
      const __m256 b_hi = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
      for (int i = 0; i < kMR; ++i) {
        const __m256 a_i = _mm256_broadcast_ss(a + i);
        lo[i] = _mm256_fmadd_ps(a_i, b_lo, lo[i]);
        hi[i] = _mm256_fmadd_ps(a_i, b_hi, hi[i]);
      }
      a += kMR;
      b += kNR;
    }
  } else {
    // Rows past m repeat the last real row: read, never stored.
    const float* rows[kMR];
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) rows[i] = a + (i < m ? i : m - 1) * lda;
#pragma GCC unroll 4
    for (std::int64_t p = 0; p < k; ++p) {
      const __m256 b_lo = _mm256_load_ps(b);
      const __m256 b_hi = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
      for (int i = 0; i < kMR; ++i) {
        const __m256 a_i = _mm256_broadcast_ss(rows[i] + p);
        lo[i] = _mm256_fmadd_ps(a_i, b_lo, lo[i]);
        hi[i] = _mm256_fmadd_ps(a_i, b_hi, hi[i]);
      }
      b += kNR;
    }
  }

  const __m256 slope = _mm256_set1_ps(epilogue != nullptr ? epilogue->slope : 0.0f);
  if (m == kMR && n == kNR) {
    const __m256i all = _mm256_set1_epi32(-1);
    __m256 bias_lo = _mm256_setzero_ps(), bias_hi = _mm256_setzero_ps();
    if (epilogue != nullptr && epilogue->bias != nullptr) {
      bias_lo = _mm256_loadu_ps(epilogue->bias);
      bias_hi = _mm256_loadu_ps(epilogue->bias + 8);
    }
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      float* row = c + i * ldc;
      if (accumulate) {
        lo[i] = _mm256_add_ps(_mm256_loadu_ps(row), lo[i]);
        hi[i] = _mm256_add_ps(_mm256_loadu_ps(row + 8), hi[i]);
      }
      if (epilogue != nullptr) epilogue_row(*epilogue, i, bias_lo, bias_hi, slope, all, all, lo[i], hi[i]);
      _mm256_storeu_ps(row, lo[i]);
      _mm256_storeu_ps(row + 8, hi[i]);
    }
    return;
  }
  // Edge tile: masked lanes are neither loaded nor stored, so nothing past the m x n
  // corner of C is touched (it may be another tile's, or past the end of C).
  const __m256i mask_lo = first_lanes8(n);
  const __m256i mask_hi = first_lanes8(n - 8);
  __m256 bias_lo = _mm256_setzero_ps(), bias_hi = _mm256_setzero_ps();
  if (epilogue != nullptr && epilogue->bias != nullptr) {
    bias_lo = _mm256_maskload_ps(epilogue->bias, mask_lo);
    bias_hi = _mm256_maskload_ps(epilogue->bias + 8, mask_hi);
  }
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) {
    if (i >= m) break;  // a constant trip count keeps lo/hi in registers
    float* row = c + i * ldc;
    if (accumulate) {
      lo[i] = _mm256_add_ps(_mm256_maskload_ps(row, mask_lo), lo[i]);
      hi[i] = _mm256_add_ps(_mm256_maskload_ps(row + 8, mask_hi), hi[i]);
    }
    if (epilogue != nullptr) epilogue_row(*epilogue, i, bias_lo, bias_hi, slope, mask_lo, mask_hi, lo[i], hi[i]);
    _mm256_maskstore_ps(row, mask_lo, lo[i]);
    _mm256_maskstore_ps(row + 8, mask_hi, hi[i]);
  }
}

GANKIT_TARGET_AVX2 void avx2_6x16_packed(std::int64_t k, const float* a, std::int64_t lda,
                                         const float* b, float* c, std::int64_t ldc, int m, int n,
                                         bool accumulate, const TileEpilogue* epilogue) {
  avx2_6x16<true>(k, a, lda, b, c, ldc, m, n, accumulate, epilogue);
}

GANKIT_TARGET_AVX2 void avx2_6x16_rowmajor_a(std::int64_t k, const float* a, std::int64_t lda,
                                             const float* b, float* c, std::int64_t ldc, int m,
                                             int n, bool accumulate,
                                             const TileEpilogue* epilogue) {
  avx2_6x16<false>(k, a, lda, b, c, ldc, m, n, accumulate, epilogue);
}

}  // namespace

// The blocking comes from the cache model (blocking.h): on a Zen 3 core (32 KiB 8-way
// L1, 512 KiB 8-way L2) kc = 320, the B micro-panel (320 x 16, 20 KiB) in 5 of the L1's
// 8 ways and an A micro-panel (7.5 KiB) in 2; mc = 306 (A block 383 KiB, 6 of the L2's
// ways). The constants below are BLIS's Zen sgemm blocking, kept for a machine whose
// caches cannot be read.
const MicroKernel& avx2_micro_kernel() {
  static const MicroKernel kernel{"avx2", kMR, kNR, avx2_6x16_packed, cpu_detail::has_avx2_fma,
                                  Blocking{144, 256, 2048}, &avx2_skinny_kernels(),
                                  avx2_6x16_rowmajor_a, /*fuses_epilogue=*/true,
                                  /*blocking_from_model=*/true};
  return kernel;
}

#else  // not x86-64 with GCC/Clang: an entry the registry reports as unsupported

const MicroKernel& avx2_micro_kernel() {
  static const MicroKernel kernel{"avx2", 6, 16, nullptr, cpu_detail::has_avx2_fma,
                                  Blocking{144, 256, 2048}, &avx2_skinny_kernels(),
                                  /*run_rowmajor_a=*/nullptr, /*fuses_epilogue=*/false,
                                  /*blocking_from_model=*/true};
  return kernel;
}

#endif

}  // namespace gemm_detail
}  // namespace gankit
