// Maxout units (Goodfellow et al. 2013): each output is the maximum of `pieces` linear
// pieces, forward and backward over flat row-major buffers.
//
//   z: (rows, units * pieces), piece-major: column p * units + j holds piece p of unit j,
//      so a row is `pieces` contiguous slabs of `units` values and the max is an
//      element-wise max across slabs (it vectorises over j).
//   h: (rows, units)    argmax: (rows, units), uint8, the winning piece of each output
//   forward:  h[r][j] = max_p z[r][p * units + j]; ties go to the lowest piece p
//   backward: d_z[r][p * units + j] = d_h[r][j] if p == argmax[r][j], else 0
//
// pieces lies in [1, kMaxoutMaxPieces] so a piece index fits the uint8 argmax. Rows are
// independent, so splitting them across threads cannot change any result.
#pragma once
#include <cstdint>

namespace gankit {

constexpr std::int64_t kMaxoutMaxPieces = 64;

// Throws std::invalid_argument unless 1 <= pieces <= kMaxoutMaxPieces.
void validate_maxout_pieces(std::int64_t pieces);

void maxout_forward(const float* z, float* h, std::uint8_t* argmax, std::int64_t rows,
                    std::int64_t units, std::int64_t pieces);

// argmax must hold values < pieces (as maxout_forward writes them).
void maxout_backward(const float* d_h, const std::uint8_t* argmax, float* d_z, std::int64_t rows,
                     std::int64_t units, std::int64_t pieces);

}  // namespace gankit
