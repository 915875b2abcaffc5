// Internal to the GEMM: packing operands into the micro-kernel's layout.
//
// A and B pack the same way once B is read as its transpose: a block of X (X = A, or
// X = Bᵀ), `rows` x depth, becomes ceil(rows / W) micro-panels of W rows (W = MR for A,
// NR for B), each stored depth step after depth step:
//   dst[q * W * depth + p * W + r] = X(q * W + r, p)
// The last panel is zero-padded to W rows, so the kernel always runs full width.
#pragma once
#include <cstdint>
#include <utility>

namespace gankit {
namespace gemm_detail {

struct PackSource {
  const float* data;  // X(0, 0) of the block
  std::int64_t rows;   // rows of X held in memory
  std::int64_t depth;  // kc
  std::int64_t row_stride;
  std::int64_t col_stride;
  bool ones_row;       // one more row after them, all ones (MatrixView::ones_row)

  std::int64_t packed_rows() const { return rows + (ones_row ? 1 : 0); }
};

// A share of some work among `parts` threads: this one does part `part`. Packing is
// split into independent units (depth steps or panels), so any share of them gives the
// same packed block.
struct Share {
  int part;
  int parts;
};
constexpr Share kWhole{0, 1};

// [first, last) of `units` for this share: contiguous, sizes differing by at most one.
inline std::pair<std::int64_t, std::int64_t> share_of(std::int64_t units, Share share) {
  return {units * share.part / share.parts, units * (share.part + 1) / share.parts};
}

// Packs this share of the block; the caller synchronises the threads that share it.
void pack_block(const PackSource& x, int width, float* dst, Share share);

// One panel from `width` rows each contiguous along the depth, row_stride apart:
//   out[p * width + r] = rows[r * row_stride + p]   for r < width, p < depth.
// Moves bits, never arithmetic, so it also transposes bf16 slots held in float storage
// (the bf16 kernel's direct packing, ukernel_avx512_bf16.cpp).
void transpose_into_panel(const float* rows, int width, std::int64_t row_stride,
                          std::int64_t depth, float* out);

}  // namespace gemm_detail
}  // namespace gankit
