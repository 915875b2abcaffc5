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
#include <type_traits>

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

// Word 2i of a rounded pair of steps (vcvtne2ps2bf16: words 0-15 the even step's
// rows, 16-31 the odd step's) is row i's even step, word 2i + 1 its odd step.
GANKIT_TARGET_AVX512_BF16 inline __m512i slot_interleave() {
  alignas(64) static const std::uint16_t kInterleave[32] = {
      0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
      8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  return _mm512_load_si512(kInterleave);
}

// 16 rows' slots from their even and odd steps, rounded to nearest even.
GANKIT_TARGET_AVX512_BF16 inline __m512i round_pairs(__m512 even, __m512 odd, __m512i interleave) {
  return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(odd, even));
}

// Rows [r, r + store_lanes) of one slot step: the two depth steps `even` and `odd`
// (fp32 rows of X; odd null past the depth) into as many slots, of which the first
// load_lanes hold data and the rest zero padding (nothing read for them).
GANKIT_TARGET_AVX512_BF16 inline void round_pair_rows(const float* even, const float* odd,
                                                      std::uint32_t* slots, int load_lanes,
                                                      int store_lanes) {
  const __mmask16 mask = first_lanes16(load_lanes);
  const __m512 lo = load_lanes > 0 ? _mm512_maskz_loadu_ps(mask, even) : _mm512_setzero_ps();
  const __m512 hi = load_lanes > 0 && odd != nullptr ? _mm512_maskz_loadu_ps(mask, odd) : _mm512_setzero_ps();
  _mm512_mask_storeu_epi32(slots, first_lanes16(store_lanes), round_pairs(lo, hi, slot_interleave()));
}

// One slot step of a panel whose kWidth rows are all data and whose two steps both
// exist: whole vectors, and for kWidth % 16 rows one mask known at compile time.
template <int kWidth>
GANKIT_TARGET_AVX512_BF16 __attribute__((always_inline)) inline void round_whole_slot(
    const float* even, const float* odd, std::uint32_t* slot, __m512i interleave) {
  constexpr int kWhole16 = kWidth / 16 * 16;
#pragma GCC unroll 4
  for (int r = 0; r < kWhole16; r += 16)
    _mm512_storeu_si512(slot + r, round_pairs(_mm512_loadu_ps(even + r), _mm512_loadu_ps(odd + r), interleave));
  if constexpr (kWidth % 16 != 0) {
    constexpr auto kTail = static_cast<__mmask16>((1u << (kWidth % 16)) - 1);
    _mm512_mask_storeu_epi32(slot + kWhole16, kTail,
                             round_pairs(_mm512_maskz_loadu_ps(kTail, even + kWhole16),
                                         _mm512_maskz_loadu_ps(kTail, odd + kWhole16), interleave));
  }
}

// Slots packed per visit of a panel: 4 slots of 32 rows are 512 contiguous bytes, where
// one slot's 128 bytes in every panel in turn (panels width * slots * 4 bytes apart, a
// multiple of 4 KiB at kc = 512, so one L1 set) left the lines to evict each other.
constexpr std::int64_t kSlotsPerVisit = 4;

// Depth steps contiguous over the rows (B row-major, A stored transposed, or an fp32
// panel): each slot from two steps of X. Threads split the slots. The whole panels'
// pairs of steps in blocks of kSlotsPerVisit slots (kWidth, the kernel's MR or NR); the
// rest lane by lane: the partial last panel, an odd depth's last step, and widths
// without a template (kWidth = 0). Measured against the lane-by-lane loop alone (Zen 5,
// B panels of 784-1024 x 1024 at kc 392-512, 2026-12-08): 1.6x faster from cache and
// 3x from memory, where its masks computed for every 16 rows held the loads back.
template <int kWidth>
GANKIT_TARGET_AVX512_BF16 void pairs_from_steps_of_width(const PackSource& x, int width,
                                                         std::uint32_t* out, Share share) {
  const int w = kWidth > 0 ? kWidth : width;
  const std::int64_t slots = (x.depth + 1) / 2;
  const std::int64_t panels = ceil_div(x.rows, w);
  const auto [first_t, last_t] = share_of(slots, share);
  const std::int64_t pairs_end = std::min(last_t, x.depth / 2);  // slots with both steps
  const std::int64_t whole_panels = kWidth > 0 ? x.rows / w : 0;
  const std::int64_t ld = x.col_stride;
  if constexpr (kWidth > 0) {
    const __m512i interleave = slot_interleave();
    for (std::int64_t t0 = first_t; t0 < pairs_end; t0 += kSlotsPerVisit) {
      const std::int64_t t1 = std::min(pairs_end, t0 + kSlotsPerVisit);
      for (std::int64_t q = 0; q < whole_panels; ++q) {
        const float* even = x.data + 2 * t0 * ld + q * kWidth;
        std::uint32_t* slot = out + q * kWidth * slots + t0 * kWidth;
        for (std::int64_t t = t0; t < t1; ++t, even += 2 * ld, slot += kWidth)
          round_whole_slot<kWidth>(even, even + ld, slot, interleave);
      }
    }
  }
  for (std::int64_t t = first_t; t < last_t; ++t) {
    const float* even = x.data + 2 * t * ld;
    const float* odd = 2 * t + 1 < x.depth ? even + ld : nullptr;
    for (std::int64_t q = t < pairs_end ? whole_panels : 0; q < panels; ++q)
      for (int r = 0; r < w; r += 16) {
        const std::int64_t row = q * w + r;
        const auto data = static_cast<int>(std::clamp<std::int64_t>(x.rows - row, 0, 16));
        round_pair_rows(data > 0 ? even + row : nullptr, data > 0 && odd != nullptr ? odd + row : nullptr,
                        out + q * w * slots + t * w + r, data, std::min(16, w - r));
      }
  }
}

// body(std::integral_constant<int, W>) with W = width where it is this kernel's MR or NR
// (the widths its panels have), so the packing loops know it at compile time; else 0.
template <typename Body>
void with_kernel_width(int width, Body body) {
  if (width == kMR) return body(std::integral_constant<int, kMR>{});
  if (width == kNR) return body(std::integral_constant<int, kNR>{});
  body(std::integral_constant<int, 0>{});
}

// The direct packing (MicroKernel::pack_pairs_direct) of operands whose depth steps are
// contiguous, and pack_pairs on each fp32 panel.
GANKIT_TARGET_AVX512_BF16 void pairs_from_steps(const PackSource& x, int width, std::uint32_t* out,
                                                Share share) {
  with_kernel_width(width, [&](auto known) {
    pairs_from_steps_of_width<decltype(known)::value>(x, width, out, share);
  });
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
// half of slot t), so the panel is those rows' slots transposed. Threads split the
// panels. Whole panels take 16 slots of 16 rows at a time, transposed in registers
// (slots_from_rows); the rest (a partial last panel, the depth's last < 32 floats, and
// widths without a template) goes through a scratch: each row rounded into a line of
// kChunk slots, and the W lines transposed into the panel (8 KiB at W = 32, in L1).
constexpr int kMaxDirectWidth = 32;
constexpr std::int64_t kChunk = 64;

GANKIT_TARGET_AVX512_BF16 void round_row_into_slots(const float* row, std::int64_t floats,
                                                    std::int64_t chunk, float* line) {
  std::int64_t s = 0;
  for (; s + 16 <= chunk && 2 * s + 32 <= floats; s += 16) {  // 16 whole slots: 32 floats, no masks
    const __m512i words = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 2 * s + 16), _mm512_loadu_ps(row + 2 * s));
    _mm512_storeu_si512(line + s, words);  // 32 words in memory order
  }
  for (; s < chunk; s += 16) {  // the row's end, or the chunk's
    const std::int64_t f = 2 * s;
    const auto lo_lanes = static_cast<int>(std::clamp<std::int64_t>(floats - f, 0, 16));
    const auto hi_lanes = static_cast<int>(std::clamp<std::int64_t>(floats - f - 16, 0, 16));
    const __m512 lo = lo_lanes > 0 ? _mm512_maskz_loadu_ps(first_lanes16(lo_lanes), row + f) : _mm512_setzero_ps();
    const __m512 hi = hi_lanes > 0 ? _mm512_maskz_loadu_ps(first_lanes16(hi_lanes), row + f + 16) : _mm512_setzero_ps();
    const __m512i words = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
    _mm512_mask_storeu_epi32(line + s, first_lanes16(static_cast<int>(std::min<std::int64_t>(16, chunk - s))), words);
  }
}

// Slots [t_begin, slots) of panel q, `data_rows` of whose rows hold data, through the
// scratch (see above).
GANKIT_TARGET_AVX512_BF16 void slots_through_scratch(const PackSource& x, int width, std::int64_t q,
                                                     int data_rows, std::int64_t t_begin, float* out) {
  alignas(64) float scratch[kMaxDirectWidth * kChunk];
  const std::int64_t slots = (x.depth + 1) / 2;
  for (std::int64_t t0 = t_begin; t0 < slots; t0 += kChunk) {
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

// word[j] of r[i] becomes word[i] of r[j]: 16 x 16 32-bit words, in 64 shuffles.
// (GCC 12 warns that the shuffles' _mm512_undefined_epi32() pass-through may be
// uninitialised where rows are zero constants, a false positive fixed in GCC 13.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
GANKIT_TARGET_AVX512_BF16 __attribute__((always_inline)) inline void transpose_16x16(__m512i (&r)[16]) {
  __m512i t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {  // pairs of rows, interleaved word by word
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {  // quads of rows, two words at a time
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {  // then 128-bit lanes, twice
    const int k = i % 4, base = i / 4 * 8;
    t[base + k] = _mm512_shuffle_i32x4(r[base + k], r[base + 4 + k], 0x88);
    t[base + 4 + k] = _mm512_shuffle_i32x4(r[base + k], r[base + 4 + k], 0xdd);
  }
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    r[k] = _mm512_shuffle_i32x4(t[k], t[8 + k], 0x88);
    r[8 + k] = _mm512_shuffle_i32x4(t[k], t[8 + k], 0xdd);
  }
}
#pragma GCC diagnostic pop

// Slots [t0, t0 + 16) of kRows (<= 16) rows, row_stride apart, each with 32 floats
// from step 2 t0 on, into the panel of width kWidth at `slot` (slot t0 of the group's
// first row): the rows' slots in registers, transposed into 16 slot steps.
template <int kRows, int kWidth>
GANKIT_TARGET_AVX512_BF16 __attribute__((always_inline)) inline void slots_from_rows(
    const float* first_row, std::int64_t row_stride, std::uint32_t* slot) {
  __m512i r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    const float* row = first_row + i * row_stride;
    r[i] = i < kRows ? (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 16), _mm512_loadu_ps(row))
                     : _mm512_setzero_si512();
  }
  transpose_16x16(r);
  constexpr auto kLanes = static_cast<__mmask16>(kRows == 16 ? 0xFFFF : (1u << kRows) - 1);
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) {
    if constexpr (kRows == 16) _mm512_storeu_si512(slot + j * kWidth, r[j]);
    else _mm512_mask_storeu_epi32(slot + j * kWidth, kLanes, r[j]);
  }
}

// Measured against the scratch alone (Zen 5, 2026-12-08, W = 32): 1024 rows x 392 of
// 784 floats 36 -> 27 us cached, 117-127 -> 74-75 us from memory; rows 4 KiB apart (512
// x 512 of 1024) 23 -> 25 us cached, 65-69 -> 37-39 us from memory.
template <int kWidth>
GANKIT_TARGET_AVX512_BF16 void pairs_from_rows_of_width(const PackSource& x, int width, float* out, Share share) {
  const int w = kWidth > 0 ? kWidth : width;
  const std::int64_t slots = (x.depth + 1) / 2;
  const std::int64_t panels = ceil_div(x.rows, w);
  const std::int64_t whole_chunks_end = x.depth / 32 * 16;  // slots of 16 from 32 floats each
  const auto [first_q, last_q] = share_of(panels, share);
  for (std::int64_t q = first_q; q < last_q; ++q) {
    const auto data_rows = static_cast<int>(std::clamp<std::int64_t>(x.rows - q * w, 0, w));
    std::int64_t t_begin = 0;
    if constexpr (kWidth > 0) {
      if (data_rows == kWidth) {
        const float* first_row = x.data + q * kWidth * x.row_stride;
        auto* panel = reinterpret_cast<std::uint32_t*>(out) + q * kWidth * slots;
        for (std::int64_t t0 = 0; t0 < whole_chunks_end; t0 += 16) {
          slots_from_rows<std::min(16, kWidth), kWidth>(first_row + 2 * t0, x.row_stride, panel + t0 * kWidth);
          if constexpr (kWidth > 16)
            slots_from_rows<kWidth - 16, kWidth>(first_row + 16 * x.row_stride + 2 * t0, x.row_stride,
                                                 panel + t0 * kWidth + 16);
        }
        t_begin = whole_chunks_end;
      }
    }
    if (t_begin < slots) slots_through_scratch(x, w, q, data_rows, t_begin, out);
  }
}

GANKIT_TARGET_AVX512_BF16 void pairs_from_rows(const PackSource& x, int width, float* out, Share share) {
  with_kernel_width(width, [&](auto known) {
    pairs_from_rows_of_width<decltype(known)::value>(x, width, out, share);
  });
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
                                                 bool accumulate, const TileEpilogue* epilogue) {
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

  store_tile(lo, hi, c, ldc, m, n, accumulate, epilogue);
}

}  // namespace

// The fp32 avx512 kernel's blocking, in depth steps: a bf16 panel is half as many
// bytes, so the same kc leaves L1 and L2 room to spare (`gankit bench gemm
// --precision bf16` measures it).
const MicroKernel& avx512_bf16_micro_kernel() {
  static const MicroKernel kernel{"avx512_bf16", kMR, kNR, avx512_bf16_12x32, cpu_has_avx512_bf16,
                                  Blocking{144, 512, 2048}, &avx2_skinny_kernels(),
                                  /*run_rowmajor_a=*/nullptr, /*fuses_epilogue=*/true,
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
