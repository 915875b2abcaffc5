// The largest sizes the core accepts, checked where a size enters the core (network
// construction, a step's or a forward pass's row count). They are chosen so that every
// size derived from them, rows x width, real + fake rows, the sum of a network's
// parameters and the byte counts of all of these, fits in std::int64_t and std::size_t
// whatever the combination: past those checks no size computation can overflow.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace gankit {

constexpr std::int64_t kMaxRows = (std::int64_t{1} << 31) - 1;  // rows in one call
constexpr std::int64_t kMaxWidth = std::int64_t{1} << 24;       // one layer's size
constexpr std::int64_t kMaxParams = std::int64_t{1} << 40;      // one network's parameters
constexpr std::int64_t kMaxPack = 4096;                         // samples D judges at once

// Throws std::invalid_argument naming `name` unless 1 <= rows <= kMaxRows.
inline void require_rows(std::int64_t rows, const char* name) {
  if (rows < 1 || rows > kMaxRows)
    throw std::invalid_argument(std::string(name) + ": expected between 1 and " +
                                std::to_string(kMaxRows) + " rows, got " + std::to_string(rows));
}

}  // namespace gankit
