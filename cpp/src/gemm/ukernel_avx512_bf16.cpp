// The AVX512-BF16 micro-kernel: C (fp32) += A B with A and B rounded to bfloat16, a
// 12 x 32 tile of C in 24 zmm accumulators, as the fp32 avx512 kernel.
//
// vdpbf16ps multiplies pairs of bf16 and adds both products to one fp32 lane:
//   c[j] += a[2j] b[2j] + a[2j+1] b[2j+1]
// so one instruction does the work of two FMAs, and the operands take half the bytes.
// The framework packs A and B as it does for fp32 (pack.cpp) and this kernel's
// pack_pairs then rounds each micro-panel to bf16, two depth steps to a 32-bit slot:
//   slot[t * W + r] = bf16(X(r, 2t)) | bf16(X(r, 2t + 1)) << 16
// which is the fp32 panel layout at half the depth, the layout vdpbf16ps (and AMX's B
// tiles) read. An odd depth pads its last slot with a zero.
//
// Rounding and subnormals are the instructions' own, fixed whatever MXCSR holds:
// vcvtne2ps2bf16 rounds to nearest even and vdpbf16ps treats subnormal inputs and
// outputs as zero; every step is in a fixed order, so results are bitwise the same for
// any thread count, as the fp32 kernels' are.
#include <algorithm>
#include <cstdint>

#include "../cpu/cpu_features.h"
#include "../cpu/isa.h"
#include "pack.h"
#include "skinny.h"
#include "tile_avx512.h"
#include "tile_math.h"
#include "ukernel.h"

#if GANKIT_X86
#include <immintrin.h>
#endif

namespace gankit {
namespace gemm_detail {

namespace {

bool cpu_has_avx512_bf16() {
  const cpu_detail::Features& f = cpu_detail::features();
  return f.avx512_bf16 && f.avx512bw;
}

}  // namespace

#if GANKIT_X86
namespace {

constexpr int kMR = kAvx512TileRows;
constexpr int kNR = kAvx512TileCols;

// Rows [r, r + store_lanes) of one slot step: the two depth steps `even` and `odd`
// (fp32 rows of X; odd null past the depth) into as many slots, of which the first
// load_lanes hold data and the rest zero padding (nothing read for them).
GANKIT_TARGET_AVX512_BF16 inline void round_pair_rows(const float* even, const float* odd,
                                                      std::uint32_t* slots, int load_lanes,
                                                      int store_lanes) {
  // Word 2i of the result is row i's even step, word 2i + 1 its odd step.
  alignas(64) static const std::uint16_t kInterleave[32] = {
      0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
      8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __mmask16 mask = first_lanes16(load_lanes);
  const __m512 lo = load_lanes > 0 ? _mm512_maskz_loadu_ps(mask, even) : _mm512_setzero_ps();
  const __m512 hi = load_lanes > 0 && odd != nullptr ? _mm512_maskz_loadu_ps(mask, odd) : _mm512_setzero_ps();
  // Words 0-15 the even steps, 16-31 the odd ones, each rounded to nearest even.
  const __m512i rounded = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
  const __m512i pairs = _mm512_permutexvar_epi16(_mm512_load_si512(kInterleave), rounded);
  _mm512_mask_storeu_epi32(slots, first_lanes16(store_lanes), pairs);
}

// Depth steps contiguous over the rows (B row-major, A stored transposed, or an fp32
// panel): each slot from two steps of X. Threads split the slots. The direct packing
// (MicroKernel::pack_pairs_direct) of such operands, and pack_pairs on each panel.
GANKIT_TARGET_AVX512_BF16 void pairs_from_steps(const PackSource& x, int width, std::uint32_t* out,
                                                Share share) {
  const std::int64_t slots = (x.depth + 1) / 2;
  const std::int64_t panels = ceil_div(x.rows, width);
  const auto [first_t, last_t] = share_of(slots, share);
  for (std::int64_t t = first_t; t < last_t; ++t) {
    const float* even = x.data + 2 * t * x.col_stride;
    const float* odd = 2 * t + 1 < x.depth ? even + x.col_stride : nullptr;
    for (std::int64_t q = 0; q < panels; ++q)
      for (int r = 0; r < width; r += 16) {
        const std::int64_t row = q * width + r;
        const auto data = static_cast<int>(std::clamp<std::int64_t>(x.rows - row, 0, 16));
        round_pair_rows(data > 0 ? even + row : nullptr, data > 0 && odd != nullptr ? odd + row : nullptr,
                        out + q * width * slots + t * width + r, data, std::min(16, width - r));
      }
  }
}

// The pack_pairs of this kernel (see MicroKernel::pack_pairs): an fp32 panel is `width`
// rows whose depth steps lie `width` floats apart, so each is one pairs_from_steps.
GANKIT_TARGET_AVX512_BF16 void avx512_bf16_pack_pairs(const float* panels, int width,
                                                      std::int64_t depth, std::int64_t first,
                                                      std::int64_t last, float* pairs) {
  const std::int64_t slot_depth = (depth + 1) / 2;
  for (std::int64_t q = first; q < last; ++q) {
    const PackSource panel{panels + q * width * depth, width, depth, 1, width, false};
    pairs_from_steps(panel, width, reinterpret_cast<std::uint32_t*>(pairs + q * width * slot_depth), kWhole);
  }
}

// Direct packing, rows contiguous along the depth (A row-major, B stored transposed):
// a row's floats rounded in memory order are already its slots (step 2t in the low
// half of slot t), so each row is rounded into a scratch line of kChunk slots, and the
// W lines are then transposed into the panel. Chunks keep the scratch (8 KiB at W = 32)
// in L1. Threads split the panels.
constexpr int kMaxDirectWidth = 32;
constexpr std::int64_t kChunk = 64;

GANKIT_TARGET_AVX512_BF16 void round_row_into_slots(const float* row, std::int64_t floats,
                                                    std::int64_t chunk, float* line) {
  for (std::int64_t s = 0; s < chunk; s += 16) {  // 16 slots: 32 floats
    const std::int64_t f = 2 * s;
    const auto lo_lanes = static_cast<int>(std::clamp<std::int64_t>(floats - f, 0, 16));
    const auto hi_lanes = static_cast<int>(std::clamp<std::int64_t>(floats - f - 16, 0, 16));
    const __m512 lo = lo_lanes > 0 ? _mm512_maskz_loadu_ps(first_lanes16(lo_lanes), row + f) : _mm512_setzero_ps();
    const __m512 hi = hi_lanes > 0 ? _mm512_maskz_loadu_ps(first_lanes16(hi_lanes), row + f + 16) : _mm512_setzero_ps();
    const __m512i words = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // 32 words in memory order
    _mm512_mask_storeu_epi32(line + s, first_lanes16(static_cast<int>(std::min<std::int64_t>(16, chunk - s))), words);
  }
}

GANKIT_TARGET_AVX512_BF16 void pairs_from_rows(const PackSource& x, int width, float* out, Share share) {
  alignas(64) float scratch[kMaxDirectWidth * kChunk];
  const std::int64_t slots = (x.depth + 1) / 2;
  const std::int64_t panels = ceil_div(x.rows, width);
  const auto [first_q, last_q] = share_of(panels, share);
  for (std::int64_t q = first_q; q < last_q; ++q) {
    const auto data_rows = static_cast<int>(std::clamp<std::int64_t>(x.rows - q * width, 0, width));
    for (std::int64_t t0 = 0; t0 < slots; t0 += kChunk) {
      const std::int64_t chunk = std::min(kChunk, slots - t0);
      for (int r = 0; r < width; ++r) {
        float* line = scratch + r * kChunk;
        if (r < data_rows)
          round_row_into_slots(x.data + (q * width + r) * x.row_stride + 2 * t0, x.depth - 2 * t0, chunk, line);
        else
          std::fill(line, line + chunk, 0.0f);  // zero padding: bf16 zeros in both halves
      }
      transpose_into_panel(scratch, width, kChunk, chunk, out + q * width * slots + t0 * width);
    }
  }
}

GANKIT_TARGET_AVX512_BF16 bool avx512_bf16_pack_pairs_direct(const PackSource& x, int width,
                                                             float* pairs, Share share) {
  if (x.ones_row || width > kMaxDirectWidth) return false;
  if (x.row_stride == 1) {
    pairs_from_steps(x, width, reinterpret_cast<std::uint32_t*>(pairs), share);
    return true;
  }
  if (x.col_stride == 1) {
    pairs_from_rows(x, width, pairs, share);
    return true;
  }
  return false;  // other strides: pack_block's element-by-element loop, then pack_pairs
}

GANKIT_TARGET_AVX512_BF16 void avx512_bf16_12x32(std::int64_t slots, const float* a,
                                                 std::int64_t, const float* b, float* c,
                                                 std::int64_t ldc, int m, int n,
                                                 bool accumulate, const TileEpilogue*) {
  __m512 lo[kMR], hi[kMR];  // row i of the tile: columns 0-15 and 16-31
#pragma GCC unroll 16
  for (int i = 0; i < kMR; ++i) lo[i] = hi[i] = _mm512_setzero_ps();

  prefetch_tile(c, ldc, m, n);

  const auto* a_slots = reinterpret_cast<const std::int32_t*>(a);
#pragma GCC unroll 2
  for (std::int64_t t = 0; t < slots; ++t) {
    const __m512bh b_lo = (__m512bh)_mm512_load_si512(b);
    const __m512bh b_hi = (__m512bh)_mm512_load_si512(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < kMR; ++i) {
      const __m512bh a_i = (__m512bh)_mm512_set1_epi32(a_slots[i]);
      lo[i] = _mm512_dpbf16_ps(lo[i], a_i, b_lo);
      hi[i] = _mm512_dpbf16_ps(hi[i], a_i, b_hi);
    }
    a_slots += kMR;
    b += kNR;
  }

  store_tile(lo, hi, c, ldc, m, n, accumulate, nullptr);
}

}  // namespace

// The fp32 avx512 kernel's blocking, in depth steps: a bf16 panel is half as many
// bytes, so the same kc leaves L1 and L2 room to spare (`gankit bench gemm
// --precision bf16` measures it).
const MicroKernel& avx512_bf16_micro_kernel() {
  static const MicroKernel kernel{"avx512_bf16", kMR, kNR, avx512_bf16_12x32, cpu_has_avx512_bf16,
                                  Blocking{144, 512, 2048}, &avx2_skinny_kernels(),
                                  /*run_rowmajor_a=*/nullptr, /*fuses_epilogue=*/false,
                                  /*blocking_from_model=*/false, avx512_bf16_pack_pairs,
                                  /*run_rowmajor_b=*/nullptr, /*run_rowmajor_ab=*/nullptr,
                                  /*shorter=*/nullptr, avx512_bf16_pack_pairs_direct};
  return kernel;
}

#else  // not x86-64 with GCC/Clang: an entry the registry reports as unsupported

const MicroKernel& avx512_bf16_micro_kernel() {
  static const MicroKernel kernel{"avx512_bf16", 12, 32, nullptr, cpu_has_avx512_bf16,
                                  Blocking{144, 512, 2048}, &generic_skinny_kernels(),
                                  /*run_rowmajor_a=*/nullptr, /*fuses_epilogue=*/false,
                                  /*blocking_from_model=*/false, nullptr};
  return kernel;
}

#endif

}  // namespace gemm_detail
}  // namespace gankit
