// Integer arithmetic of tiles and blocks, shared by the blocking model, the packers and
// the GEMM loops: how many tiles of size d cover x, and x rounded up to whole tiles.
#pragma once
#include <cstdint>

namespace gankit {
namespace gemm_detail {

// Tiles of size d (> 0) needed to cover x (>= 0).
constexpr std::int64_t ceil_div(std::int64_t x, std::int64_t d) { return (x + d - 1) / d; }

// x rounded up to a multiple of d (> 0).
constexpr std::int64_t round_up(std::int64_t x, std::int64_t d) { return ceil_div(x, d) * d; }

}  // namespace gemm_detail
}  // namespace gankit
