// Dense layer forward/backward on top of the GEMM (see dense.h for shapes).
#include "gankit/dense.h"

#include "gankit/gemm.h"

namespace gankit {

void dense_forward(const float* x, const float* w, const float* b, float* y, std::int64_t batch,
                   std::int64_t fan_in, std::int64_t fan_out, Activation act, float slope) {
  // y (batch, fan_out) = act(x (batch, fan_in) w (fan_in, fan_out) + b), epilogue fused.
  const GemmEpilogue epilogue{b, act, slope};
  gemm(row_major(x, batch, fan_in), row_major(w, fan_in, fan_out), y, fan_out,
       /*accumulate=*/false, &epilogue);
}

namespace {

// d_z = d_y * act'(y) in place, and d_b = column sums of d_z in the same pass over
// memory. Rows are summed in order, so d_b does not depend on the thread count.
void activation_grad_and_bias_grad(const float* y, float* d_y, float* d_b, std::int64_t batch,
                                   std::int64_t fan_out, Activation act, float slope) {
  if (d_b != nullptr)
    for (std::int64_t j = 0; j < fan_out; ++j) d_b[j] = 0.0f;
  for (std::int64_t r = 0; r < batch; ++r) {
    float* d_row = d_y + r * fan_out;
    activation_backward(y + r * fan_out, d_row, d_row, fan_out, act, slope);
    if (d_b != nullptr)
      for (std::int64_t j = 0; j < fan_out; ++j) d_b[j] += d_row[j];
  }
}

}  // namespace

void dense_backward(const float* x, const float* w, const float* y, float* d_y, float* d_w,
                    float* d_b, float* d_x, std::int64_t batch, std::int64_t fan_in,
                    std::int64_t fan_out, Activation act, float slope) {
  activation_grad_and_bias_grad(y, d_y, d_b, batch, fan_out, act, slope);
  const MatrixView d_z = row_major(d_y, batch, fan_out);
  if (d_w != nullptr) {
    // d_w (fan_in, fan_out) = xᵀ (fan_in, batch) d_z (batch, fan_out)
    gemm(transposed(row_major(x, batch, fan_in)), d_z, d_w, fan_out, /*accumulate=*/false);
  }
  if (d_x != nullptr) {
    // d_x (batch, fan_in) = d_z (batch, fan_out) wᵀ (fan_out, fan_in)
    gemm(d_z, transposed(row_major(w, fan_in, fan_out)), d_x, fan_in, /*accumulate=*/false);
  }
}

}  // namespace gankit
