// The AVX-512F micro-kernel: a 12 x 32 tile of C in 24 zmm accumulators, and its 8 x 32
// sibling (MicroKernel::shorter) for products whose rows 8 divides better: the same
// loop at a height of 8 (avx512_tile<kRows, ...>).
//
// Of the 32 zmm registers, 24 hold C, 2 a row of B, 1 the broadcast of A. Each k step
// does 24 FMAs for 14 loads, half the instructions and loads per flop of the AVX2
// kernel. 12 rows: each B load feeds twice the FMAs of a 6-row tile while MR stays
// small enough for short batches (16 rows would spill registers). `gankit bench gemm`
// reports the kernel's GFLOP/s and its fraction of the FMA peak.
//
// As the AVX2 kernel: A packed, or read in place when it is row-major (twelve row
// pointers sharing one index: no packing for the x w and d_z w^T products), and the
// epilogue applied in registers before the one store (tile_avx512.h). Also B read in
// place when it is row-major: a product of few rows (x w at batch 64) reuses each packed
// B micro-panel for too few tiles to repay copying it.
#include <cstdint>

#include "../cpu/cpu_features.h"
#include "../cpu/isa.h"
#include "skinny.h"
#include "tile_avx512.h"
#include "ukernel.h"

#if GANKIT_X86
#include <immintrin.h>
#endif

namespace gankit {
namespace gemm_detail {

#if GANKIT_X86
namespace {

constexpr int kMR = kAvx512TileRows;
constexpr int kShortMR = 8;  // the sibling's height (avx512_short_micro_kernel)
constexpr int kNR = kAvx512TileCols;
constexpr Blocking kAvx512Blocking{144, 512, 2048};  // see avx512_micro_kernel()

// kRows: the tile's height (kMR, or kShortMR for the sibling).
// kPackedA: A as a kRows-tall packed micro-panel, else row-major in place (lda).
// kPackedB: B as an NR-wide packed micro-panel, else row-major in place (ldb), its
// columns past n masked off.
template <int kRows, bool kPackedA, bool kPackedB>
GANKIT_TARGET_AVX512 inline void avx512_tile(std::int64_t k, const float* a, std::int64_t lda,
                                             const float* b, std::int64_t ldb, float* c,
                                             std::int64_t ldc, int m, int n, bool accumulate,
                                             const TileEpilogue* epilogue) {
  __m512 lo[kRows], hi[kRows];  // row i of the tile: columns 0-15 and 16-31
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) lo[i] = hi[i] = _mm512_setzero_ps();

  prefetch_tile(c, ldc, m, n);

  const std::int64_t b_step = kPackedB ? kNR : ldb;
  const __mmask16 b_mask_lo = kPackedB ? 0xFFFF : first_lanes16(n);
  const __mmask16 b_mask_hi = kPackedB ? 0xFFFF : first_lanes16(n - 16);
  // Rows past m repeat the last real row: read, never stored.
  const float* rows[kRows];
  if constexpr (!kPackedA) {
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) rows[i] = a + (i < m ? i : m - 1) * lda;
  }
#pragma GCC unroll 2
  for (std::int64_t p = 0; p < k; ++p) {
    const __m512 b_lo = kPackedB ? _mm512_load_ps(b) : _mm512_maskz_loadu_ps(b_mask_lo, b);
    const __m512 b_hi = kPackedB ? _mm512_load_ps(b + 16) : _mm512_maskz_loadu_ps(b_mask_hi, b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
      const __m512 a_i = _mm512_set1_ps(kPackedA ? a[i] : rows[i][p]);
      lo[i] = _mm512_fmadd_ps(a_i, b_lo, lo[i]);
      hi[i] = _mm512_fmadd_ps(a_i, b_hi, hi[i]);
    }
    if constexpr (kPackedA) a += kRows;
    b += b_step;
  }
  store_tile<kRows>(lo, hi, c, ldc, m, n, accumulate, epilogue);
}

// The descriptor's two signatures (ukernel.h), for a tile of kRows rows with A packed
// or read in place: B as a packed micro-panel (run, run_rowmajor_a), or B read in place
// with its row stride (run_rowmajor_b, run_rowmajor_ab).
template <int kRows, bool kPackedA>
GANKIT_TARGET_AVX512 void tile_b_packed(std::int64_t k, const float* a, std::int64_t lda,
                                        const float* b, float* c, std::int64_t ldc, int m, int n,
                                        bool accumulate, const TileEpilogue* epilogue) {
  avx512_tile<kRows, kPackedA, true>(k, a, lda, b, kNR, c, ldc, m, n, accumulate, epilogue);
}

template <int kRows, bool kPackedA>
GANKIT_TARGET_AVX512 void tile_b_in_place(std::int64_t k, const float* a, std::int64_t lda,
                                          const float* b, std::int64_t ldb, float* c,
                                          std::int64_t ldc, int m, int n, bool accumulate,
                                          const TileEpilogue* epilogue) {
  avx512_tile<kRows, kPackedA, false>(k, a, lda, b, ldb, c, ldc, m, n, accumulate, epilogue);
}

// Reached only through avx512_micro_kernel().shorter, and run with that kernel's
// blocking (gemm.cpp): the Blocking here is never read, and is the same for clarity.
const MicroKernel& avx512_short_micro_kernel() {
  static const MicroKernel kernel{"avx512", kShortMR, kNR, tile_b_packed<kShortMR, true>,
                                  cpu_detail::has_avx512f, kAvx512Blocking, &avx2_skinny_kernels(),
                                  tile_b_packed<kShortMR, false>, /*fuses_epilogue=*/true,
                                  /*blocking_from_model=*/false, /*pack_pairs=*/nullptr,
                                  tile_b_in_place<kShortMR, true>, tile_b_in_place<kShortMR, false>};
  return kernel;
}

}  // namespace

// A block 144 x 512 (288 KiB) in L2, B panel 512 x 2048 (4 MiB) in L3. kc = 512, twice
// the AVX2 kernel's: each C tile is loaded and stored half as often, and 24 FMAs per k
// step leave time for B to come from L2 (`gankit bench gemm --kernel avx512`). That
// streams B from L2 on purpose, against the cache model's assumption (blocking.h), so
// this kernel keeps its measured constants; the model's kc (256 on a 48 KiB 12-way L1)
// awaits a measurement on an AVX-512 machine.
const MicroKernel& avx512_micro_kernel() {
  static const MicroKernel kernel{"avx512", kMR, kNR, tile_b_packed<kMR, true>, cpu_detail::has_avx512f,
                                  kAvx512Blocking, &avx2_skinny_kernels(),
                                  tile_b_packed<kMR, false>, /*fuses_epilogue=*/true,
                                  /*blocking_from_model=*/false, /*pack_pairs=*/nullptr,
                                  tile_b_in_place<kMR, true>, tile_b_in_place<kMR, false>,
                                  &avx512_short_micro_kernel()};
  return kernel;
}

#else  // not x86-64 with GCC/Clang: an entry the registry reports as unsupported

const MicroKernel& avx512_micro_kernel() {
  static const MicroKernel kernel{"avx512", 12, 32, nullptr, cpu_detail::has_avx512f,
                                  Blocking{144, 512, 2048}, &avx2_skinny_kernels(),
                                  /*run_rowmajor_a=*/nullptr, /*fuses_epilogue=*/false,
                                  /*blocking_from_model=*/false};
  return kernel;
}

#endif

}  // namespace gemm_detail
}  // namespace gankit
