// The portable row kernels: the scalar definitions in loops the compiler vectorises
// for the baseline ISA where it can (one loop per activation, no switch inside).
#include "row_kernels.h"

namespace gankit {
namespace activation_detail {

namespace {

void bias_activation_row(const float* in, const float* bias, float* out, std::int64_t n,
                         Activation act, float slope) {
  if (act == Activation::tanh) return tanh_row(in, bias, out, n);
  if (act == Activation::sigmoid) return sigmoid_row(in, bias, out, n);
  if (bias != nullptr) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = activate(in[i] + bias[i], act, slope);
    return;
  }
  switch (act) {
    case Activation::identity:
      if (in != out) for (std::int64_t i = 0; i < n; ++i) out[i] = in[i];
      return;
    case Activation::relu:
      for (std::int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
      return;
    case Activation::leaky_relu:
      for (std::int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : slope * in[i];
      return;
    default:
      return;  // tanh and sigmoid handled above
  }
}

void gradient_row(const float* y, const float* d_in, float* d_out, std::int64_t n,
                  Activation act, float slope) {
  switch (act) {
    case Activation::identity:
      if (d_in != d_out) for (std::int64_t i = 0; i < n; ++i) d_out[i] = d_in[i];
      return;
    case Activation::relu:
      for (std::int64_t i = 0; i < n; ++i) d_out[i] = y[i] > 0.0f ? d_in[i] : 0.0f;
      return;
    case Activation::leaky_relu:
      for (std::int64_t i = 0; i < n; ++i) d_out[i] = y[i] > 0.0f ? d_in[i] : slope * d_in[i];
      return;
    case Activation::tanh:
      for (std::int64_t i = 0; i < n; ++i) d_out[i] = d_in[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::sigmoid:
      for (std::int64_t i = 0; i < n; ++i) d_out[i] = d_in[i] * (y[i] * (1.0f - y[i]));
      return;
  }
}

}  // namespace

const RowKernels& generic_row_kernels() {
  static const RowKernels kernels{"generic", bias_activation_row, gradient_row};
  return kernels;
}

}  // namespace activation_detail
}  // namespace gankit
