// Internal to the activations: the row kernels every public activation function and
// the GEMM's tile epilogue run on, one table per ISA, chosen once at start-up.
//
// Every version computes each element with the same IEEE operations in the same order
// (no FMA contraction: -ffp-contract=off), so all tables give bitwise-equal results and
// the choice is purely about speed.
#pragma once
#include <cstdint>
#include <vector>

#include "gankit/activation.h"
#include "smooth_rows.h"

namespace gankit {
namespace activation_detail {

// out[i] = act(in[i] + bias[i]) for i < n; bias may be null (then act(in[i])); in may
// equal out.
using BiasActivationRow = void (*)(const float* in, const float* bias, float* out,
                                   std::int64_t n, Activation act, float slope);

// d_out[i] = d_in[i] * act'(.) with the derivative taken from the activation's output
// y[i] (see activation.h); d_in may equal d_out.
using GradientRow = void (*)(const float* y, const float* d_in, float* d_out, std::int64_t n,
                             Activation act, float slope);

struct RowKernels {
  const char* name;
  BiasActivationRow bias_activation;
  GradientRow gradient;
};

const RowKernels& generic_row_kernels();
const RowKernels* avx2_row_kernels();    // null where AVX2 is not compiled (off x86-64)
const RowKernels* avx512_row_kernels();  // null where AVX-512 is not compiled

// The registry (activation.cpp): the tables this CPU runs by the CPU check
// (cpu/cpu_features.h), narrowest first (generic, then avx2, then avx512), and the
// widest of them, chosen once, on the first call.
std::vector<const RowKernels*> supported_row_kernels();
const RowKernels& active_row_kernels();

// The scalar definitions every table agrees with.

inline float activate(float x, Activation act, float slope) {
  switch (act) {
    case Activation::identity: return x;
    case Activation::relu: return x > 0.0f ? x : 0.0f;
    case Activation::leaky_relu: return x > 0.0f ? x : slope * x;
    case Activation::tanh: return tanh_value(x);
    case Activation::sigmoid: return sigmoid_value(x);
  }
  return x;
}

// d * act'(x) written in terms of y = act(x). leaky ReLU: slope >= 0, so y > 0 exactly
// where x > 0.
inline float times_derivative(float y, float d, Activation act, float slope) {
  switch (act) {
    case Activation::identity: return d;
    case Activation::relu: return y > 0.0f ? d : 0.0f;
    case Activation::leaky_relu: return y > 0.0f ? d : slope * d;
    case Activation::tanh: return d * (1.0f - y * y);
    case Activation::sigmoid: return d * (y * (1.0f - y));
  }
  return d;
}

}  // namespace activation_detail
}  // namespace gankit
