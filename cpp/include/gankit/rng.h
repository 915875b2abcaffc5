// The core's random numbers: xoshiro256** seeded through splitmix64, with normal
// deviates by Box-Muller. Written out rather than <random> because the standard
// distributions differ between library implementations, and a seed must give the
// same numbers everywhere (normals: a float Box-Muller with its own series, see
// rng_normal.cpp, so no libm version or vector width changes them). The whole state is four words, so checkpoints carry it.
#pragma once
#include <array>
#include <cstdint>

namespace gankit {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }
  void reseed(std::uint64_t seed);

  std::uint64_t next_u64();
  double uniform01();  // in [0, 1), 53 random bits

  void fill_normal(float* out, std::int64_t n);                       // N(0, 1)
  void fill_uniform(float* out, std::int64_t n, float low, float high);  // [low, high)

  std::array<std::uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<std::uint64_t, 4>& s);  // throws if all zero

 private:
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace gankit
