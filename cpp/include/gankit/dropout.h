// Inverted dropout (Srivastava et al. 2014) with a counter-based mask, forward and
// backward over flat buffers.
//
//   x, y, d_y, d_x: (n) flat (a layer's (rows, units) output)    mask: (n) uint8, 1 = kept
//   forward:  y[i] = keep[i] ? x[i] * scale : 0      backward: d_x[i] = keep[i] ? d_y[i] * scale : 0
//   scale = float(1 / (1 - p)), so the expected output equals the input.
//
// The mask is a pure function of (seed, counter, layer, i) -- no generator state to
// advance -- so it is the same at any thread count and a checkpoint only stores the
// network's (seed, counter). With f the splitmix64 finaliser
//   f(x): x ^= x >> 30; x *= 0xBF58476D1CE4E5B9; x ^= x >> 27; x *= 0x94D049BB133111EB; x ^= x >> 31
// and G = 0x9E3779B97F4A7C15 (all arithmetic mod 2^64):
//   key     = f((f(f(seed + G) ^ counter) + G) ^ layer)
//   out(q)  = f(key + (q + 1) G)                 (output q of splitmix64 started at key)
//   bits(i) = high 32 bits of out(i / 2) for even i, low 32 bits of out((i - 1) / 2) for odd i
//             (one 64-bit multiply chain serves two elements: the hash is most of the cost)
//   keep[i] = bits(i) >= threshold,   threshold = floor(p 2^32)
// so an element is kept with probability exactly 1 - threshold / 2^32 (= 1 - p up to 2^-32).
#pragma once
#include <cstdint>

namespace gankit {

// Throws std::invalid_argument unless 0 <= p < 1.
void validate_dropout_rate(float p);

std::uint64_t dropout_key(std::uint64_t seed, std::uint64_t counter, std::uint64_t layer);
std::uint32_t dropout_bits(std::uint64_t key, std::int64_t index);
std::uint64_t dropout_threshold(float p);
float dropout_scale(float p);

// y may equal x.
void dropout_forward(const float* x, float* y, std::uint8_t* mask, std::int64_t n, float p,
                     std::uint64_t seed, std::uint64_t counter, std::uint64_t layer);

// d_x may equal d_y. mask values must be 0 or 1. (A dropped element's d_x is 0 * d_y,
// so -0 for a negative d_y.)
void dropout_backward(const float* d_y, const std::uint8_t* mask, float* d_x, std::int64_t n,
                      float p);

}  // namespace gankit
