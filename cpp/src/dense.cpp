// Dense layer forward/backward on top of the GEMM (see dense.h for shapes).
#include "gankit/dense.h"

#include <algorithm>

#include "gankit/aligned_buffer.h"
#include "gankit/gemm.h"
#include "gankit/threads.h"

namespace gankit {

void dense_forward(const float* x, const float* w, const float* b, float* y, std::int64_t batch,
                   std::int64_t fan_in, std::int64_t fan_out, Activation act, float slope,
                   GemmPrecision precision) {
  // y (batch, fan_out) = act(x (batch, fan_in) w (fan_in, fan_out) + b), epilogue fused.
  const GemmEpilogue epilogue = bias_activation_epilogue(b, act, slope);
  gemm(row_major(x, batch, fan_in), row_major(w, fan_in, fan_out), y, fan_out,
       /*accumulate=*/false, &epilogue, precision);
}

namespace {

// d_b = column sums of d_z, rows in order (so it does not depend on the thread count).
void column_sums(const float* d_z, float* d_b, std::int64_t batch, std::int64_t fan_out) {
  for (std::int64_t j = 0; j < fan_out; ++j) d_b[j] = 0.0f;
  for (std::int64_t r = 0; r < batch; ++r)
    for (std::int64_t j = 0; j < fan_out; ++j) d_b[j] += d_z[r * fan_out + j];
}

// The input gradient d_x = d_z wᵀ can be computed as its transpose, d_xᵀ (fan_in, batch)
// = w (fan_in, fan_out) d_zᵀ (fan_out, batch): then w is the GEMM's A, read where it
// lies, instead of its B, which the GEMM packs (a transposing copy of all of w) for
// every product. That saves fan_in * fan_out packed elements and costs packing d_zᵀ
// (batch * fan_out) and transposing the result back (batch * fan_in, about twice, with
// the derivative pass): worth it when the batch is small next to the layer. Each
// element is the same FMA chain over fan_out in the same blocks either way (a * b ==
// b * a exactly; for bf16 the same pairs of rounded products), so the result is bitwise
// the same as the direct product's.
bool input_gradient_by_transpose(std::int64_t batch, std::int64_t fan_in, std::int64_t fan_out) {
  // The direct product is fan_in wide, its transpose batch wide: if either takes the
  // GEMM's skinny path, the two ways would no longer agree to the bit.
  if (gemm_is_skinny(fan_in) || gemm_is_skinny(batch)) return false;
  return batch * (fan_out + 2 * fan_in) < fan_in * fan_out;
}

// d_x (batch, fan_in) = d_x_t (fan_in, batch)ᵀ * x_act'(x), in blocks of rows of d_x;
// the derivative is the GEMM's own epilogue, so it rounds exactly as the fused one.
void transpose_times_derivative(const float* d_x_t, float* d_x, std::int64_t batch,
                                std::int64_t fan_in, const GemmEpilogue& times_derivative) {
  constexpr std::int64_t kRows = 16, kCols = 64;  // a block: 16 rows of d_x, 4 KiB
  const std::int64_t row_blocks = (batch + kRows - 1) / kRows;
  const int nt = threads_for(row_blocks, 4.0 * kRows * static_cast<double>(fan_in));
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t block = 0; block < row_blocks; ++block) {
    const std::int64_t i0 = block * kRows, i1 = std::min(batch, i0 + kRows);
    for (std::int64_t j0 = 0; j0 < fan_in; j0 += kCols) {
      const std::int64_t j1 = std::min(fan_in, j0 + kCols);
      for (std::int64_t i = i0; i < i1; ++i)
        for (std::int64_t j = j0; j < j1; ++j) d_x[i * fan_in + j] = d_x_t[j * batch + i];
    }
    apply_epilogue_tile(times_derivative, d_x + i0 * fan_in, fan_in, i0, 0, i1 - i0, fan_in);
  }
}

// d_x (batch, fan_in) = (d_z wᵀ) * x_act'(x), whichever way is cheaper (see above).
void input_gradient(const MatrixView& d_z, const float* w, const float* x, float* d_x,
                    std::int64_t batch, std::int64_t fan_in, std::int64_t fan_out,
                    Activation x_act, float slope, GemmPrecision precision) {
  const GemmEpilogue times_derivative = activation_derivative_epilogue(x, fan_in, x_act, slope);
  if (!input_gradient_by_transpose(batch, fan_in, fan_out)) {
    gemm(d_z, transposed(row_major(w, fan_in, fan_out)), d_x, fan_in, /*accumulate=*/false,
         &times_derivative, precision);
    return;
  }
  // Scratch per thread, grow-only like the GEMM's packing buffers: allocated on a
  // network's first step only.
  thread_local AlignedBuffer d_x_t;
  d_x_t.resize_discard(fan_in * batch);
  gemm(row_major(w, fan_in, fan_out), transposed(d_z), d_x_t.data(), batch, /*accumulate=*/false,
       nullptr, precision);
  transpose_times_derivative(d_x_t.data(), d_x, batch, fan_in, times_derivative);
}

}  // namespace

void dense_backward(const float* x, const float* w, const float* y, float* d_y, float* d_w,
                    float* d_b, float* d_x, std::int64_t batch, std::int64_t fan_in,
                    std::int64_t fan_out, Activation act, float slope, GemmPrecision precision) {
  // d_z = d_y * act'(y), in place.
  activation_gradient_tile(d_y, fan_out, y, fan_out, batch, fan_out, act, slope);
  dense_backward_from_z(x, w, d_y, d_w, d_b, d_x, batch, fan_in, fan_out, Activation::identity,
                        slope, nullptr, precision);
}

void dense_backward_from_z(const float* x, const float* w, const float* d_z_data, float* d_w,
                           float* d_b, float* d_x, std::int64_t batch, std::int64_t fan_in,
                           std::int64_t fan_out, Activation x_act, float slope,
                           const DenseUpdate* update, GemmPrecision precision) {
  const MatrixView d_z = row_major(d_z_data, batch, fan_out);
  // d_x (batch, fan_in) = (d_z (batch, fan_out) wᵀ (fan_out, fan_in)) * x_act'(x), first:
  // an update below changes w.
  if (d_x != nullptr) input_gradient(d_z, w, x, d_x, batch, fan_in, fan_out, x_act, slope, precision);
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
         update != nullptr ? &adam : nullptr, precision);
    return;
  }
  // d_w (fan_in, fan_out) = xᵀ (fan_in, batch) d_z (batch, fan_out)
  gemm(x_t, d_z, d_w, fan_out, /*accumulate=*/false, nullptr, precision);
  if (d_b != nullptr) column_sums(d_z_data, d_b, batch, fan_out);
  if (update != nullptr) {
    adam_span(*update->adam, update->w, d_w, update->m_w, update->v_w, w_size);
    if (d_b != nullptr)
      adam_span(*update->adam, update->w + w_size, d_b, update->m_w + w_size, update->v_w + w_size,
                fan_out);
  }
}

}  // namespace gankit
