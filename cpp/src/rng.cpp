// xoshiro256** (Blackman & Vigna) with splitmix64 seeding; uniform floats. Normal
// deviates are in rng_normal.cpp.
#include "gankit/rng.h"

#include <cmath>
#include <stdexcept>

namespace gankit {

namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

void Rng::reseed(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& word : s_) word = splitmix64(x);  // never all zero: splitmix64 is a bijection
}

void Rng::set_state(const std::array<std::uint64_t, 4>& s) {
  if (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0)
    throw std::invalid_argument("rng state: expected four words not all zero, got all zero");
  s_ = s;
}

std::uint64_t Rng::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

void Rng::fill_uniform(float* out, std::int64_t n, float low, float high) {
  const double width = static_cast<double>(high) - static_cast<double>(low);
  for (std::int64_t i = 0; i < n; ++i) {
    float value = static_cast<float>(low + width * uniform01());
    // Rounding to float can land on `high`; keep the interval half-open.
    out[i] = value < high ? value : std::nextafter(high, low);
  }
}

}  // namespace gankit
