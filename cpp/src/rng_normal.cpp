// Rng::fill_normal: Box-Muller in float, with log, sin and cos written out so that the
// transform vectorises (GANKIT_CLONES, cpu/isa.h) and every ISA gives the same bits.
//
// Each pair of deviates comes from one 64-bit draw: 24 bits for u1 in (0, 1] and 24 for
// u2 in [0, 1). Then r = sqrt(-2 log u1), and (r cos 2πu2, r sin 2πu2). The largest
// radius is sqrt(2 · 24 ln 2) = 5.77, so the tails beyond 5.77σ (probability 8e-9) are
// cut, which no GAN's noise can tell. The series below are accurate to about 2 ulp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "gankit/rng.h"
#include "cpu/isa.h"

namespace gankit {

namespace {

inline std::int32_t bits_of(float x) {
  std::int32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

inline float float_of(std::int32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// log(x) for a normal float x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), and
// log(m) = 2 atanh(s) = 2 (s + s³/3 + s⁵/5 + s⁷/7 + s⁹/9), s = (m - 1) / (m + 1),
// |s| <= 0.172, so the next term is below float precision.
// Integer arithmetic in place of branches keeps the loop vectorisable.
inline float log_series(float x) {
  const std::int32_t bits = bits_of(x);
  const std::int32_t mantissa = bits & 0x007fffff;
  const std::int32_t high = mantissa > 0x003504f3 ? 1 : 0;  // 1.mantissa > sqrt(2)
  const std::int32_t exponent = ((bits >> 23) & 0xff) - 127 + high;
  const float m = float_of(mantissa | (0x3f800000 - (high << 23)));  // halved when high
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float series = 1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))));
  return 2.0f * s * series + static_cast<float>(exponent) * 0.693147182f;
}

// sin and cos of a in [-π/4, π/4] by their Taylor series (next terms below 2e-9).
inline float sin_series(float a) {
  const float a2 = a * a;
  return a * (1.0f - a2 * (1.0f / 6 - a2 * (1.0f / 120 - a2 * (1.0f / 5040 - a2 * (1.0f / 362880)))));
}

inline float cos_series(float a) {
  const float a2 = a * a;
  return 1.0f - a2 * (0.5f - a2 * (1.0f / 24 - a2 * (1.0f / 720 - a2 * (1.0f / 40320 -
                                                                        a2 * (1.0f / 3628800)))));
}

// out[2i], out[2i+1] = the pair from draws[i], for i < pairs. u2 is reduced in quarter
// turns, exactly: 4 u2 = q + r with q the nearest integer, r in [-1/2, 1/2], so the
// angle is q π/2 + a with a = r π/2 in [-π/4, π/4].
GANKIT_CLONES void box_muller(const std::uint64_t* draws, float* out, std::int64_t pairs) {
  for (std::int64_t i = 0; i < pairs; ++i) {
    const auto high = static_cast<std::int32_t>(draws[i] >> 40);              // 24 bits
    const auto low = static_cast<std::int32_t>((draws[i] >> 8) & 0xffffff);   // 24 bits
    const float u1 = static_cast<float>(high + 1) * 0x1.0p-24f;  // (0, 1]
    const float quarter_turns = static_cast<float>(low) * 0x1.0p-22f;  // 4 u2 in [0, 4)
    const std::int32_t q = static_cast<std::int32_t>(quarter_turns + 0.5f);  // 0..4
    const float a = (quarter_turns - static_cast<float>(q)) * 1.57079637f;
    const float radius = std::sqrt(-2.0f * log_series(u1));
    const float s = sin_series(a), c = cos_series(a);
    // cos and sin of q π/2 + a: rotate (c, s) by q quarter turns, that is swap them
    // for odd q and flip signs, with bit operations rather than branches.
    const std::int32_t quadrant = q & 3;
    const std::int32_t swap = -(quadrant & 1);  // all ones for odd quadrants
    const std::int32_t c_bits = bits_of(c), s_bits = bits_of(s);
    const std::int32_t cos_bits = (s_bits & swap) | (c_bits & ~swap);
    const std::int32_t sin_bits = (c_bits & swap) | (s_bits & ~swap);
    const std::int32_t cos_sign = ((quadrant + 1) & 2) << 30;  // quadrants 1 and 2
    const std::int32_t sin_sign = (quadrant & 2) << 30;        // quadrants 2 and 3
    out[2 * i] = radius * float_of(cos_bits ^ cos_sign);
    out[2 * i + 1] = radius * float_of(sin_bits ^ sin_sign);
  }
}

}  // namespace

void Rng::fill_normal(float* out, std::int64_t n) {
  // The draws are sequential (the generator's state), the transform is not: draw a
  // block, transform it. An odd tail discards the second deviate of its pair, so the
  // stream position after a call depends only on n.
  constexpr std::int64_t kBlock = 256;
  std::uint64_t draws[kBlock];
  float pair_out[2];
  for (std::int64_t done = 0; done < n;) {
    const std::int64_t pairs = std::min<std::int64_t>(kBlock, (n - done + 1) / 2);
    for (std::int64_t i = 0; i < pairs; ++i) draws[i] = next_u64();
    const std::int64_t whole = std::min<std::int64_t>(pairs, (n - done) / 2);
    box_muller(draws, out + done, whole);
    done += 2 * whole;
    if (whole < pairs) {  // the odd last deviate
      box_muller(draws + whole, pair_out, 1);
      out[done++] = pair_out[0];
    }
  }
}

}  // namespace gankit
