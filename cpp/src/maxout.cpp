// Maxout forward/backward (layout and formulas in maxout.h).
#include "gankit/maxout.h"

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

// One row: slab 0 seeds the max, later slabs replace it only when strictly greater, so
// the lowest piece wins ties.
void forward_row(const float* z, float* h, std::uint8_t* argmax, std::int64_t units,
                 std::int64_t pieces) {
  for (std::int64_t j = 0; j < units; ++j) {
    h[j] = z[j];
    argmax[j] = 0;
  }
  for (std::int64_t p = 1; p < pieces; ++p) {
    const float* slab = z + p * units;
    const auto piece = static_cast<std::uint8_t>(p);
    for (std::int64_t j = 0; j < units; ++j) {
      const bool greater = slab[j] > h[j];
      h[j] = greater ? slab[j] : h[j];
      argmax[j] = greater ? piece : argmax[j];
    }
  }
}

void backward_row(const float* d_h, const std::uint8_t* argmax, float* d_z, std::int64_t units,
                  std::int64_t pieces) {
  for (std::int64_t p = 0; p < pieces; ++p) {
    float* slab = d_z + p * units;
    const auto piece = static_cast<std::uint8_t>(p);
    for (std::int64_t j = 0; j < units; ++j) slab[j] = argmax[j] == piece ? d_h[j] : 0.0f;
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
