// Element-wise activations: names, checks, and the public entry points, which run the
// row kernels of the best ISA this CPU has (row_kernels_*.cpp; all give the same bits).
#include "gankit/activation.h"

#include <cmath>
#include <stdexcept>

#include "../cpu/cpu_features.h"
#include "gankit/threads.h"
#include "row_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gankit {

namespace activation_detail {

std::vector<const RowKernels*> supported_row_kernels() {
  std::vector<const RowKernels*> tables{&generic_row_kernels()};
  if (cpu_detail::has_avx2_fma() && avx2_row_kernels() != nullptr) tables.push_back(avx2_row_kernels());
  if (cpu_detail::has_avx512f() && avx512_row_kernels() != nullptr) tables.push_back(avx512_row_kernels());
  return tables;
}

const RowKernels& active_row_kernels() {
  static const RowKernels& chosen = *supported_row_kernels().back();
  return chosen;
}

}  // namespace activation_detail

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

namespace {

// Runs body(first_row, end_row) over [0, rows), split across threads when the matrix
// is large enough to pay for them (a GEMM tile never is). Rows are independent, so
// the split changes no result.
template <typename Body>
void for_row_ranges(std::int64_t rows, std::int64_t cols, Body body) {
  constexpr double kCostPerElement = 4.0;  // a load, one or two operations, a store
  const int nt = threads_for(rows, static_cast<double>(cols) * kCostPerElement);
  if (nt <= 1) {
    body(0, rows);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
#ifdef _OPENMP
    const std::int64_t t = omp_get_thread_num(), parts = omp_get_num_threads();
    body(rows * t / parts, rows * (t + 1) / parts);
#endif
  }
}

}  // namespace

void bias_activation_tile(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                          const float* bias, Activation act, float slope) {
  const auto row_kernel = active_row_kernels().bias_activation;
  for_row_ranges(rows, cols, [&](std::int64_t first, std::int64_t end) {
    for (std::int64_t r = first; r < end; ++r) row_kernel(c + r * ldc, bias, c + r * ldc, cols, act, slope);
  });
}

void activation_gradient_tile(float* d, std::int64_t ldd, const float* y, std::int64_t ldy,
                              std::int64_t rows, std::int64_t cols, Activation act, float slope) {
  if (act == Activation::identity) return;
  const auto row_kernel = active_row_kernels().gradient;
  for_row_ranges(rows, cols, [&](std::int64_t first, std::int64_t end) {
    for (std::int64_t r = first; r < end; ++r)
      row_kernel(y + r * ldy, d + r * ldd, d + r * ldd, cols, act, slope);
  });
}

const char* activation_kernel_name() { return active_row_kernels().name; }

}  // namespace gankit
