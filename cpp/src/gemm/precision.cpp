// GemmPrecision (gankit/gemm.h): its names, and round_to_bf16, the rounding of the bf16
// kernels' packing (vcvtne2ps2bf16) in portable C++, for references and tests.
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "gankit/gemm.h"

namespace gankit {

GemmPrecision precision_from_name(const std::string& name) {
  if (name == "fp32") return GemmPrecision::fp32;
  if (name == "bf16") return GemmPrecision::bf16;
  throw std::invalid_argument("precision: expected 'fp32' or 'bf16', got '" + name + "'");
}

const char* precision_name(GemmPrecision precision) {
  return precision == GemmPrecision::bf16 ? "bf16" : "fp32";
}

// Intel SDM, "VCVTNE2PS2BF16", its convert_fp32_to_bfloat16: NaN to a quiet NaN, zero
// and subnormal inputs to a zero of their sign (the instruction ignores MXCSR's DAZ and
// flushes them itself), anything else rounded to nearest even on the upper 16 bits
// (so the largest floats round up to infinity, as IEEE rounding does).
float round_to_bf16(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {
    bits = (bits | 0x00400000u) & 0xffff0000u;
  } else if (magnitude < 0x00800000u) {
    bits &= 0x80000000u;
  } else {
    const std::uint32_t lsb = (bits >> 16) & 1u;
    bits = (bits + 0x7fffu + lsb) & 0xffff0000u;
  }
  float rounded;
  std::memcpy(&rounded, &bits, sizeof rounded);
  return rounded;
}

}  // namespace gankit
