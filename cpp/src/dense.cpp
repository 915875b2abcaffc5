// Dense layer forward/backward on top of the GEMM (see dense.h for shapes).
#include "gankit/dense.h"

#include "gankit/gemm.h"

namespace gankit {

void dense_forward(const float* x, const float* w, const float* b, float* y, std::int64_t batch,
                   std::int64_t fan_in, std::int64_t fan_out, Activation act, float slope) {
  // y (batch, fan_out) = act(x (batch, fan_in) w (fan_in, fan_out) + b), epilogue fused.
  const GemmEpilogue epilogue = bias_activation_epilogue(b, act, slope);
  gemm(row_major(x, batch, fan_in), row_major(w, fan_in, fan_out), y, fan_out,
       /*accumulate=*/false, &epilogue);
}

namespace {

// d_b = column sums of d_z, rows in order (so it does not depend on the thread count).
void column_sums(const float* d_z, float* d_b, std::int64_t batch, std::int64_t fan_out) {
  for (std::int64_t j = 0; j < fan_out; ++j) d_b[j] = 0.0f;
  for (std::int64_t r = 0; r < batch; ++r)
    for (std::int64_t j = 0; j < fan_out; ++j) d_b[j] += d_z[r * fan_out + j];
}

}  // namespace

void dense_backward(const float* x, const float* w, const float* y, float* d_y, float* d_w,
                    float* d_b, float* d_x, std::int64_t batch, std::int64_t fan_in,
                    std::int64_t fan_out, Activation act, float slope) {
  // d_z = d_y * act'(y), in place.
  activation_gradient_tile(d_y, fan_out, y, fan_out, batch, fan_out, act, slope);
  dense_backward_from_z(x, w, d_y, d_w, d_b, d_x, batch, fan_in, fan_out, Activation::identity,
                        slope);
}

void dense_backward_from_z(const float* x, const float* w, const float* d_z_data, float* d_w,
                           float* d_b, float* d_x, std::int64_t batch, std::int64_t fan_in,
                           std::int64_t fan_out, Activation x_act, float slope,
                           const DenseUpdate* update) {
  const MatrixView d_z = row_major(d_z_data, batch, fan_out);
  if (d_x != nullptr) {
    // d_x (batch, fan_in) = (d_z (batch, fan_out) wᵀ (fan_out, fan_in)) * x_act'(x), first:
    // an update below changes w.
    const GemmEpilogue times_derivative = activation_derivative_epilogue(x, fan_in, x_act, slope);
    gemm(d_z, transposed(row_major(w, fan_in, fan_out)), d_x, fan_in, /*accumulate=*/false,
         &times_derivative);
  }
  if (d_w == nullptr) return;
  const MatrixView x_t = transposed(row_major(x, batch, fan_in));
  const std::int64_t w_size = fan_in * fan_out;
  if (d_b == d_w + w_size) {
    // [d_w; d_b] (fan_in + 1, fan_out) = [xᵀ; 1ᵀ] d_z: b follows W in a network's
    // gradient buffer, so one product writes both (see MatrixView::ones_row), and the
    // update of [w; b] rides on its epilogue.
    const GemmEpilogue adam = update != nullptr
        ? adam_update_epilogue(update->w, update->m_w, update->v_w, update->adam)
        : GemmEpilogue{};
    gemm(with_ones_row(x_t), d_z, d_w, fan_out, /*accumulate=*/false,
         update != nullptr ? &adam : nullptr);
    return;
  }
  // d_w (fan_in, fan_out) = xᵀ (fan_in, batch) d_z (batch, fan_out)
  gemm(x_t, d_z, d_w, fan_out, /*accumulate=*/false);
  if (d_b != nullptr) column_sums(d_z_data, d_b, batch, fan_out);
  if (update != nullptr) {
    adam_span(*update->adam, update->w, d_w, update->m_w, update->v_w, w_size);
    if (d_b != nullptr)
      adam_span(*update->adam, update->w + w_size, d_b, update->m_w + w_size, update->v_w + w_size,
                fan_out);
  }
}

}  // namespace gankit
