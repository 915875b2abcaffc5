// tanh and sigmoid from one float exponential, written without branches: every choice
// is a blend of integer bit patterns (GCC keeps a float comparison, and even some
// integer selects, as branches), which lets the row loops vectorise (GANKIT_CLONES,
// cpu/isa.h) with the same bits at every vector width. NaN in gives NaN out, as libm
// does, so a diverging run still shows up as non-finite. Accuracy: a few float ulps
// (tested against float64).
#include "smooth_rows.h"

#include <cstring>

#include "../cpu/isa.h"

namespace gankit {
namespace activation_detail {

namespace {

inline float float_of(std::int32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

inline std::int32_t bits_of(float x) {
  std::int32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

constexpr std::int32_t kAbsMask = 0x7fffffff;
constexpr std::int32_t kInfinityBits = 0x7f800000;

// |x|, capped at `cap` (>= 0): non-negative floats order like their bit patterns.
inline float magnitude_capped(float x, float cap) {
  const std::int32_t a = bits_of(x) & kAbsMask, c = bits_of(cap);
  return float_of(a < c ? a : c);
}

// All ones where `condition_bits` is negative (an arithmetic shift of the sign), else 0.
inline std::int32_t mask_if_negative(std::int32_t condition_bits) { return condition_bits >> 31; }

// x itself where x is NaN (|x| above the bits of infinity), else value; as a bit blend,
// since GCC keeps even an integer select scalar in the AVX2 clone.
inline float keep_nan(float x, float value) {
  const std::int32_t xb = bits_of(x);
  const std::int32_t nan = mask_if_negative(kInfinityBits - (xb & kAbsMask));
  return float_of((xb & nan) | (bits_of(value) & ~nan));
}

// e^y - 1 and e^y for y in [-87, 0] (callers cap |y|): y = k ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2
// split so k ln2_hi is exact), e^r - 1 by its Taylor series to r^8 (next term < 3e-10),
// then e^y = 2^k (1 + (e^r - 1)) and e^y - 1 = 2^k (e^r - 1) + (2^k - 1), both exact
// in their last step for the k that occur, so small |y| keeps full relative precision.
struct ExpTerms {
  float expm1;
  float exp;
};

inline ExpTerms exp_nonpositive(float y) {
  const float k = static_cast<float>(static_cast<std::int32_t>(y * 1.44269504f - 0.5f));  // round, y <= 0
  const float r = (y - k * 0.693145752f) - k * 1.42860677e-6f;
  const float p = r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
                  r * (1.0f / 720 + r * (1.0f / 5040 + r * (1.0f / 40320))))))));
  const float two_k = float_of((static_cast<std::int32_t>(k) + 127) << 23);
  return {two_k * p + (two_k - 1.0f), two_k * (1.0f + p)};
}

// tanh(x) = sign(x) (1 - e^-2|x|) / (1 + e^-2|x|) = -sign(x) t / (2 + t), t = e^-2|x| - 1.
// Past |x| = 43.5 the result is ±1 in float long before, so |x| is capped there.
inline float tanh_of(float x) {
  const float t = exp_nonpositive(-2.0f * magnitude_capped(x, 43.5f)).expm1;
  const float magnitude = -t / (2.0f + t);
  const std::int32_t sign = bits_of(x) & ~kAbsMask;
  return keep_nan(x, float_of(bits_of(magnitude) | sign));
}

// sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, e = e^-|x| <= 1.
inline float sigmoid_of(float x) {
  const float e = exp_nonpositive(-magnitude_capped(x, 87.0f)).exp;
  const std::int32_t negative = mask_if_negative(bits_of(x));  // -0 gives e / (1 + e) = 1/2 too
  const float numerator = float_of((bits_of(e) & negative) | (bits_of(1.0f) & ~negative));
  return keep_nan(x, numerator / (1.0f + e));
}

GANKIT_CLONES void tanh_loop(const float* in, const float* bias, float* out, std::int64_t n) {
  if (bias == nullptr)
    for (std::int64_t i = 0; i < n; ++i) out[i] = tanh_of(in[i]);
  else
    for (std::int64_t i = 0; i < n; ++i) out[i] = tanh_of(in[i] + bias[i]);
}

GANKIT_CLONES void sigmoid_loop(const float* in, const float* bias, float* out, std::int64_t n) {
  if (bias == nullptr)
    for (std::int64_t i = 0; i < n; ++i) out[i] = sigmoid_of(in[i]);
  else
    for (std::int64_t i = 0; i < n; ++i) out[i] = sigmoid_of(in[i] + bias[i]);
}

}  // namespace

void tanh_row(const float* in, const float* bias, float* out, std::int64_t n) { tanh_loop(in, bias, out, n); }
void sigmoid_row(const float* in, const float* bias, float* out, std::int64_t n) { sigmoid_loop(in, bias, out, n); }
float tanh_value(float x) { return tanh_of(x); }
float sigmoid_value(float x) { return sigmoid_of(x); }

}  // namespace activation_detail
}  // namespace gankit
