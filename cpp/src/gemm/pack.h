// Internal to the GEMM: packing operands into the micro-kernel's layout.
//
// A and B pack the same way once B is read as its transpose: a block of X (X = A, or
// X = Bᵀ), `rows` x depth, becomes ceil(rows / W) micro-panels of W rows (W = MR for A,
// NR for B), each stored depth step after depth step:
//   dst[q * W * depth + p * W + r] = X(q * W + r, p)
// The last panel is zero-padded to W rows, so the kernel always runs full width.
#pragma once
#include <cstdint>

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

// Packs this share of the block; the caller synchronises the threads that share it.
void pack_block(const PackSource& x, int width, float* dst, Share share);

}  // namespace gemm_detail
}  // namespace gankit
