// The dense (fully connected) layer, forward and backward over flat row-major buffers.
//
//   x: (batch, fan_in)    w: (fan_in, fan_out)    b: (fan_out)    y: (batch, fan_out)
//   forward:  y = act(x w + b)                 (bias and activation fused into the GEMM)
//   backward: d_z = d_y * act'(y)              (from the output y; see activation.h)
//             d_b = sum over rows of d_z,  d_w = xᵀ d_z,  d_x = d_z wᵀ
// precision: the arithmetic of the layer's products (gemm.h): with bf16, x, w and d_z
// enter them rounded to bfloat16; everything else (epilogues, d_b from the bias row of
// the weight gradient's product, the update) stays fp32.
#pragma once
#include <cstdint>

#include "gankit/activation.h"
#include "gankit/gemm.h"
#include "gankit/optimizer.h"

namespace gankit {

void dense_forward(const float* x, const float* w, const float* b, float* y, std::int64_t batch,
                   std::int64_t fan_in, std::int64_t fan_out, Activation act, float slope,
                   GemmPrecision precision = GemmPrecision::fp32);

// d_y is overwritten with d_z (the gradient before the activation) to save a buffer.
// Pass d_w = d_b = nullptr to skip parameter gradients (the discriminator during the
// generator step) and d_x = nullptr to skip the input gradient (a network's first layer).
void dense_backward(const float* x, const float* w, const float* y, float* d_y, float* d_w,
                    float* d_b, float* d_x, std::int64_t batch, std::int64_t fan_in,
                    std::int64_t fan_out, Activation act, float slope,
                    GemmPrecision precision = GemmPrecision::fp32);

// The same from d_z (this layer's activation derivative already applied), with the
// derivative of the activation that produced x fused into the epilogue of d_x's GEMM:
//   d_x = (d_z wᵀ) * x_act'(.)  from x itself
// which is the d_z of the layer below when x is its output, so a stack of dense layers
// never makes a separate pass over a gradient to apply an activation derivative.
// x_act = identity gives the plain d_x = d_z wᵀ.
//
// update (optional, with d_w and d_b): one Adam step on this layer's w and b, applied to
// each block of the weight gradient as the GEMM finishes it (then d_x, which needs the
// old w, is computed first). m_w, v_w: the Adam state of w, with b's following as b
// follows w.
struct DenseUpdate {
  float* w;  // the layer's parameters, b after w
  float* m_w;
  float* v_w;
  const AdamFactors* adam;
};
void dense_backward_from_z(const float* x, const float* w, const float* d_z, float* d_w,
                           float* d_b, float* d_x, std::int64_t batch, std::int64_t fan_in,
                           std::int64_t fan_out, Activation x_act, float slope,
                           const DenseUpdate* update = nullptr,
                           GemmPrecision precision = GemmPrecision::fp32);

}  // namespace gankit
