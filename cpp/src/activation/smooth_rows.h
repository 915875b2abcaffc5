// Internal to the activations: tanh and sigmoid over rows, in float with their own
// exponential (smooth_rows.cpp), vectorised for the CPU's widest ISA with the same bits
// on every ISA, because libm's tanhf and expf, one call per element, are a visible share
// of a step with tanh or sigmoid layers (`gankit bench speed` measures the step).
#pragma once
#include <cstdint>

namespace gankit {
namespace activation_detail {

// out[i] = tanh(in[i] + bias[i]) (bias may be null; in may equal out).
void tanh_row(const float* in, const float* bias, float* out, std::int64_t n);

// out[i] = sigmoid(in[i] + bias[i]) (bias may be null; in may equal out).
void sigmoid_row(const float* in, const float* bias, float* out, std::int64_t n);

// The scalar functions the rows apply (for the reference tests and single values).
float tanh_value(float x);
float sigmoid_value(float x);

}  // namespace activation_detail
}  // namespace gankit
