// Element-wise activations, forward and backward, over row-major float buffers. They run
// on AVX2 where the CPU has it, with results bitwise equal to the portable version.
// Backward works from the activation's *output* y (not its input): every activation
// here has a derivative expressible in y (leaky ReLU because its slope is >= 0), so a
// layer keeps only its output and never a second pre-activation copy.
#pragma once
#include <cstdint>
#include <string>

namespace gankit {

enum class Activation { identity = 0, relu = 1, leaky_relu = 2, tanh = 3, sigmoid = 4 };

Activation activation_from_name(const std::string& name);  // throws std::invalid_argument
const char* activation_name(Activation a);

// The leaky-ReLU slope must lie in [0, 1): backward relies on sign(y) == sign(x).
void validate_slope(float slope);  // throws std::invalid_argument

// y[i] = act(x[i]) for n elements (x may equal y).
void activation_forward(const float* x, float* y, std::int64_t n, Activation act, float slope);

// d_x[i] = d_y[i] * act'(.) evaluated from y[i] (d_x may equal d_y).
void activation_backward(const float* y, const float* d_y, float* d_x, std::int64_t n,
                         Activation act, float slope);

// The dense layer's epilogue on one tile of C (rows x cols, leading dimension ldc):
// C[r][c] = act(C[r][c] + bias[c]). bias may be null. Called by the GEMM on each
// output tile right after its last accumulation, while the tile is still in L1.
void bias_activation_tile(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                          const float* bias, Activation act, float slope);

// The dense layer's backward epilogue on one tile: D[r][c] *= act'(.) taken from the
// activation's output Y[r][c] (D: leading dimension ldd, Y: ldy). Called by the GEMM that
// produces the gradient of a layer's output, on each tile while it is still in L1.
void activation_gradient_tile(float* d, std::int64_t ldd, const float* y, std::int64_t ldy,
                              std::int64_t rows, std::int64_t cols, Activation act, float slope);

// "avx2" or "generic": the row kernels in use.
const char* activation_kernel_name();

}  // namespace gankit
