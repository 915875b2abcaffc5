// Inverted dropout with a counter-based (stateless) mask (see dropout.h for the hash).
#include "gankit/dropout.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gankit/threads.h"

namespace gankit {

namespace {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

inline std::uint64_t finalise(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Element-wise and memory-bound: blocks of this many elements per parallel task.
constexpr std::int64_t kBlock = 4096;
constexpr double kFlopsPerElement = 12.0;

int threads_for_elements(std::int64_t n) {
  return threads_for(n / kBlock + 1, static_cast<double>(kBlock) * kFlopsPerElement);
}

}  // namespace

void validate_dropout_rate(float p) {
  if (!(p >= 0.0f && p < 1.0f))
    throw std::invalid_argument("dropout: expected a rate 0 <= p < 1, got " + std::to_string(p));
}

std::uint64_t dropout_key(std::uint64_t seed, std::uint64_t counter, std::uint64_t layer) {
  const std::uint64_t k1 = finalise(seed + kGolden);
  const std::uint64_t k2 = finalise(k1 ^ counter);
  return finalise((k2 + kGolden) ^ layer);
}

namespace {

inline std::uint64_t pair_bits(std::uint64_t key, std::int64_t pair) {
  return finalise(key + (static_cast<std::uint64_t>(pair) + 1) * kGolden);
}

inline std::uint32_t high_half(std::uint64_t x) { return static_cast<std::uint32_t>(x >> 32); }
inline std::uint32_t low_half(std::uint64_t x) { return static_cast<std::uint32_t>(x); }

}  // namespace

std::uint32_t dropout_bits(std::uint64_t key, std::int64_t index) {
  const std::uint64_t bits = pair_bits(key, index / 2);
  return index % 2 == 0 ? high_half(bits) : low_half(bits);
}

std::uint64_t dropout_threshold(float p) {
  return static_cast<std::uint64_t>(std::floor(static_cast<double>(p) * 4294967296.0));
}

float dropout_scale(float p) { return static_cast<float>(1.0 / (1.0 - static_cast<double>(p))); }

void dropout_forward(const float* x, float* y, std::uint8_t* mask, std::int64_t n, float p,
                     std::uint64_t seed, std::uint64_t counter, std::uint64_t layer) {
  validate_dropout_rate(p);
  const std::uint64_t key = dropout_key(seed, counter, layer);
  const std::uint64_t threshold = dropout_threshold(p);
  const float scale = dropout_scale(p);
  const std::int64_t pairs = (n + 1) / 2;
  const int nt = threads_for_elements(n);
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t q = 0; q < pairs; ++q) {
    const std::uint64_t bits = pair_bits(key, q);
    const std::int64_t i = 2 * q;
    const bool keep_even = high_half(bits) >= threshold;
    mask[i] = keep_even ? 1 : 0;
    y[i] = keep_even ? x[i] * scale : 0.0f;
    if (i + 1 < n) {
      const bool keep_odd = low_half(bits) >= threshold;
      mask[i + 1] = keep_odd ? 1 : 0;
      y[i + 1] = keep_odd ? x[i + 1] * scale : 0.0f;
    }
  }
}

void dropout_backward(const float* d_y, const std::uint8_t* mask, float* d_x, std::int64_t n,
                      float p) {
  validate_dropout_rate(p);
  const float scale = dropout_scale(p);
  // Blocks whose mask becomes a per-element factor (scale or 0) on the stack, so the loop
  // is a plain vectorised multiply. A dropped element's gradient is 0 * d_y: +-0.
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  const int nt = threads_for(blocks, static_cast<double>(kBlock) * kFlopsPerElement);
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t block = 0; block < blocks; ++block) {
    constexpr std::int64_t kLanes = 512;
    float factor[kLanes];
    const std::int64_t end = std::min(n, (block + 1) * kBlock);
    for (std::int64_t i0 = block * kBlock; i0 < end; i0 += kLanes) {
      const std::int64_t width = std::min(kLanes, end - i0);
      for (std::int64_t k = 0; k < width; ++k) factor[k] = static_cast<float>(mask[i0 + k]) * scale;
      for (std::int64_t k = 0; k < width; ++k) d_x[i0 + k] = d_y[i0 + k] * factor[k];
    }
  }
}

}  // namespace gankit
