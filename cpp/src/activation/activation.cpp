// Element-wise activations: names, checks, and the public entry points, which run the
// row kernels of the best ISA this CPU has (row_kernels_*.cpp; all give the same bits).
#include "gankit/activation.h"

#include <cmath>
#include <stdexcept>

#include "row_kernels.h"

namespace gankit {

using activation_detail::active_row_kernels;

Activation activation_from_name(const std::string& name) {
  if (name == "identity" || name == "linear" || name == "none") return Activation::identity;
  if (name == "relu") return Activation::relu;
  if (name == "leaky_relu") return Activation::leaky_relu;
  if (name == "tanh") return Activation::tanh;
  if (name == "sigmoid") return Activation::sigmoid;
  throw std::invalid_argument("activation: expected one of 'identity', 'relu', 'leaky_relu', "
                              "'tanh', 'sigmoid', got '" + name + "'");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::relu: return "relu";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
  }
  return "unknown";
}

void validate_slope(float slope) {
  if (!(std::isfinite(slope) && slope >= 0.0f && slope < 1.0f))
    throw std::invalid_argument("slope: expected 0 <= slope < 1, got " + std::to_string(slope));
}

void activation_forward(const float* x, float* y, std::int64_t n, Activation act, float slope) {
  active_row_kernels().bias_activation(x, nullptr, y, n, act, slope);
}

void activation_backward(const float* y, const float* d_y, float* d_x, std::int64_t n,
                         Activation act, float slope) {
  active_row_kernels().gradient(y, d_y, d_x, n, act, slope);
}

void bias_activation_tile(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                          const float* bias, Activation act, float slope) {
  const auto row_kernel = active_row_kernels().bias_activation;
  for (std::int64_t r = 0; r < rows; ++r) row_kernel(c + r * ldc, bias, c + r * ldc, cols, act, slope);
}

void activation_gradient_tile(float* d, std::int64_t ldd, const float* y, std::int64_t ldy,
                              std::int64_t rows, std::int64_t cols, Activation act, float slope) {
  if (act == Activation::identity) return;
  const auto row_kernel = active_row_kernels().gradient;
  for (std::int64_t r = 0; r < rows; ++r) row_kernel(y + r * ldy, d + r * ldd, d + r * ldd, cols, act, slope);
}

const char* activation_kernel_name() { return active_row_kernels().name; }

}  // namespace gankit
