// Maxout forward/backward (layout and formulas in maxout.h).
#include "gankit/maxout.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "gankit/threads.h"

namespace gankit {

void validate_maxout_pieces(std::int64_t pieces) {
  if (pieces < 1 || pieces > kMaxoutMaxPieces)
    throw std::invalid_argument("pieces: expected an integer in [1, " +
                                std::to_string(kMaxoutMaxPieces) + "], got " +
                                std::to_string(pieces));
}

namespace {

// Units per chunk. The winner is tracked in 32-bit lanes on the stack, like the values, so
// the compare-and-select loops vectorise (mixing float and uint8 lanes defeats that);
// bytes are written once per chunk.
constexpr std::int64_t kChunk = 256;

// One row: slab 0 seeds the max, later slabs replace it only when strictly greater, so
// the lowest piece wins ties.
void forward_row(const float* z, float* h, std::uint8_t* argmax, std::int64_t units,
                 std::int64_t pieces) {
  float best[kChunk];
  std::int32_t winner[kChunk];
  for (std::int64_t j0 = 0; j0 < units; j0 += kChunk) {
    const std::int64_t width = std::min(kChunk, units - j0);
    for (std::int64_t k = 0; k < width; ++k) {
      best[k] = z[j0 + k];
      winner[k] = 0;
    }
    for (std::int64_t p = 1; p < pieces; ++p) {
      const float* slab = z + p * units + j0;
      const auto piece = static_cast<std::int32_t>(p);
      for (std::int64_t k = 0; k < width; ++k) {
        // All-ones where this piece is strictly greater: a branch-free select.
        const std::int32_t greater = -static_cast<std::int32_t>(slab[k] > best[k]);
        winner[k] = (winner[k] & ~greater) | (piece & greater);
        best[k] = slab[k] > best[k] ? slab[k] : best[k];
      }
    }
    for (std::int64_t k = 0; k < width; ++k) {
      h[j0 + k] = best[k];
      argmax[j0 + k] = static_cast<std::uint8_t>(winner[k]);
    }
  }
}

void backward_row(const float* d_h, const std::uint8_t* argmax, float* d_z, std::int64_t units,
                  std::int64_t pieces) {
  std::int32_t winner[kChunk];
  for (std::int64_t j0 = 0; j0 < units; j0 += kChunk) {
    const std::int64_t width = std::min(kChunk, units - j0);
    for (std::int64_t k = 0; k < width; ++k) winner[k] = argmax[j0 + k];
    for (std::int64_t p = 0; p < pieces; ++p) {
      float* slab = d_z + p * units + j0;
      const auto piece = static_cast<std::int32_t>(p);
      const float* d_h_chunk = d_h + j0;
      for (std::int64_t k = 0; k < width; ++k) {
        const float d = d_h_chunk[k];
        slab[k] = winner[k] == piece ? d : 0.0f;
      }
    }
  }
}

}  // namespace

void maxout_forward(const float* z, float* h, std::uint8_t* argmax, std::int64_t rows,
                    std::int64_t units, std::int64_t pieces) {
  validate_maxout_pieces(pieces);
  const std::int64_t width = units * pieces;
  const int nt = threads_for(rows, 2.0 * static_cast<double>(width));
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t r = 0; r < rows; ++r)
    forward_row(z + r * width, h + r * units, argmax + r * units, units, pieces);
}

void maxout_backward(const float* d_h, const std::uint8_t* argmax, float* d_z, std::int64_t rows,
                     std::int64_t units, std::int64_t pieces) {
  validate_maxout_pieces(pieces);
  const std::int64_t width = units * pieces;
  const int nt = threads_for(rows, 2.0 * static_cast<double>(width));
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t r = 0; r < rows; ++r)
    backward_row(d_h + r * units, argmax + r * units, d_z + r * width, units, pieces);
}

}  // namespace gankit
