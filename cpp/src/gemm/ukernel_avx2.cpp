// The AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators.
//
// Why 6 x 16: of the 16 ymm registers, 12 hold C, 2 hold a row of B and 1 a broadcast
// element of A. 12 independent FMA chains cover the FMA latency (4 cycles) times its
// throughput (2 per cycle) with room to spare, and each k step does 12 FMAs for 8
// loads (2 of B, 6 broadcasts of A), under the load ports' limit.
#include <cstdint>

#include "ukernel.h"

#if GANKIT_GEMM_X86
#include <immintrin.h>
#define GANKIT_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace gankit {
namespace gemm_detail {

#if GANKIT_GEMM_X86
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

// Lanes [0, count) all-ones: the mask of a partial row of C (count may be <= 0 or > 8).
GANKIT_AVX2 inline __m256i first_lanes(int count) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lane);
}

GANKIT_AVX2 void avx2_6x16(std::int64_t k, const float* a, const float* b, float* c,
                           std::int64_t ldc, int m, int n, bool accumulate) {
  __m256 lo[kMR], hi[kMR];  // row i of the tile: columns 0-7 and 8-15
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) lo[i] = hi[i] = _mm256_setzero_ps();

  // The tile is written once at the end; asking for its lines now hides the miss.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + n - 1), _MM_HINT_T0);
  }

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

  if (m == kMR && n == kNR) {
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      float* row = c + i * ldc;
      if (accumulate) {
        lo[i] = _mm256_add_ps(_mm256_loadu_ps(row), lo[i]);
        hi[i] = _mm256_add_ps(_mm256_loadu_ps(row + 8), hi[i]);
      }
      _mm256_storeu_ps(row, lo[i]);
      _mm256_storeu_ps(row + 8, hi[i]);
    }
    return;
  }
  // Edge tile: masked lanes are neither loaded nor stored, so nothing past the m x n
  // corner of C is touched (it may be another tile's, or past the end of C).
  const __m256i mask_lo = first_lanes(n);
  const __m256i mask_hi = first_lanes(n - 8);
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) {
    if (i >= m) break;  // a constant trip count keeps lo/hi in registers
    float* row = c + i * ldc;
    if (accumulate) {
      lo[i] = _mm256_add_ps(_mm256_maskload_ps(row, mask_lo), lo[i]);
      hi[i] = _mm256_add_ps(_mm256_maskload_ps(row + 8, mask_hi), hi[i]);
    }
    _mm256_maskstore_ps(row, mask_lo, lo[i]);
    _mm256_maskstore_ps(row + 8, mask_hi, hi[i]);
  }
}

}  // namespace

// kc = 512: the B micro-panel (512 x 16, 32 KiB) fills L1 and the A micro-panel
// (12 KiB) streams past it from L2, which Zen 4 feeds fast enough; against kc = 256
// it halves the passes over C and measured 2-4% faster at 1024 and on the MLP
// products. mc = 144: the A block (144 x 512, 288 KiB) stays in the 1 MiB L2.
// nc = 2048: the B panel (512 x 2048, 4 MiB) stays in L3 with room to share.
const MicroKernel& avx2_micro_kernel() {
  static const MicroKernel kernel{"avx2", kMR, kNR, avx2_6x16, cpu_has_avx2_fma,
                                  Blocking{144, 512, 2048}};
  return kernel;
}

#else  // not x86-64 with GCC/Clang: an entry the registry reports as unsupported

const MicroKernel& avx2_micro_kernel() {
  static const MicroKernel kernel{"avx2", 6, 16, nullptr, cpu_has_avx2_fma,
                                  Blocking{144, 512, 2048}};
  return kernel;
}

#endif

}  // namespace gemm_detail
}  // namespace gankit
