// Element-wise activations. Plain loops the compiler vectorises for the baseline ISA;
// they are memory-bound, so hand-written SIMD would buy little here.
#include "gankit/activation.h"

#include <cmath>
#include <stdexcept>

namespace gankit {

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

namespace {

// Sigmoid that never overflows: exp of a non-positive argument only.
inline float stable_sigmoid(float x) {
  if (x >= 0.0f) {
    const float e = std::exp(-x);
    return 1.0f / (1.0f + e);
  }
  const float e = std::exp(x);
  return e / (1.0f + e);
}

inline float apply(float x, Activation act, float slope) {
  switch (act) {
    case Activation::identity: return x;
    case Activation::relu: return x > 0.0f ? x : 0.0f;
    case Activation::leaky_relu: return x > 0.0f ? x : slope * x;
    case Activation::tanh: return std::tanh(x);
    case Activation::sigmoid: return stable_sigmoid(x);
  }
  return x;
}

// Each case is its own loop so the compiler vectorises the cheap ones.
void forward_row(const float* x, float* y, std::int64_t n, Activation act, float slope) {
  switch (act) {
    case Activation::identity:
      if (x != y) for (std::int64_t i = 0; i < n; ++i) y[i] = x[i];
      return;
    case Activation::relu:
      for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case Activation::leaky_relu:
      for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
      return;
    default:
      for (std::int64_t i = 0; i < n; ++i) y[i] = apply(x[i], act, slope);
  }
}

}  // namespace

void activation_forward(const float* x, float* y, std::int64_t n, Activation act, float slope) {
  forward_row(x, y, n, act, slope);
}

void activation_backward(const float* y, const float* d_y, float* d_x, std::int64_t n,
                         Activation act, float slope) {
  switch (act) {
    case Activation::identity:
      if (d_x != d_y) for (std::int64_t i = 0; i < n; ++i) d_x[i] = d_y[i];
      return;
    case Activation::relu:
      for (std::int64_t i = 0; i < n; ++i) d_x[i] = y[i] > 0.0f ? d_y[i] : 0.0f;
      return;
    case Activation::leaky_relu:
      // slope >= 0, so y > 0 exactly where the input was > 0.
      for (std::int64_t i = 0; i < n; ++i) d_x[i] = y[i] > 0.0f ? d_y[i] : slope * d_y[i];
      return;
    case Activation::tanh:
      for (std::int64_t i = 0; i < n; ++i) d_x[i] = d_y[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::sigmoid:
      for (std::int64_t i = 0; i < n; ++i) d_x[i] = d_y[i] * (y[i] * (1.0f - y[i]));
      return;
  }
}

void bias_activation_tile(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                          const float* bias, Activation act, float slope) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = c + r * ldc;
    if (bias != nullptr)
      for (std::int64_t j = 0; j < cols; ++j) row[j] += bias[j];
    forward_row(row, row, cols, act, slope);
  }
}

}  // namespace gankit
