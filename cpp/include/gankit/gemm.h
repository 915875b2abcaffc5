// Single-precision GEMM: C = op(A) op(B) (+ C), with an optional fused epilogue.
//
// BLIS structure: gemm.cpp holds the framework (cache blocking over NC/KC/MC, packing
// of A into MR-row and B into NR-column micro-panels, the jr/ir loops, OpenMP over
// independent output tiles); each ISA supplies only a micro-kernel (ukernel_*.cpp),
// chosen once at start-up by the core's one CPU check (src/cpu/cpu_features.h);
// products at most 4 columns wide take a skinny path of their own (skinny.cpp).
// gemm_reference.cpp is the naive kernel kept beside it for tests.
//
// Determinism: every element of C is accumulated by exactly one thread, in the same
// order (over KC blocks in sequence), whatever the thread count, so results are
// bitwise identical for any number of threads.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gankit/activation.h"
#include "gankit/optimizer.h"

namespace gankit {

// A strided read-only matrix view: element (i, j) is data[i * row_stride + j * col_stride].
// A transposed operand is the same memory with the strides swapped.
//
// ones_row: the view has one more row than memory holds, after the last, all ones. As
// the A of a weight-gradient product xᵀ d_z it makes the last row of C the column sums
// of d_z, which is the bias gradient; since a layer's b follows its W in memory, one
// product writes both. (Only A may carry it.)
struct MatrixView {
  const float* data;
  std::int64_t rows;  // including the ones row when there is one
  std::int64_t cols;
  std::int64_t row_stride;
  std::int64_t col_stride;
  bool ones_row = false;

  std::int64_t data_rows() const { return ones_row ? rows - 1 : rows; }
  float at(std::int64_t i, std::int64_t j) const {
    return (ones_row && i == rows - 1) ? 1.0f : data[i * row_stride + j * col_stride];
  }
};

inline MatrixView row_major(const float* data, std::int64_t rows, std::int64_t cols) {
  return MatrixView{data, rows, cols, cols, 1};
}
inline MatrixView transposed(const MatrixView& m) {
  return MatrixView{m.data, m.cols, m.rows, m.col_stride, m.row_stride};
}
inline MatrixView with_ones_row(const MatrixView& m) {
  return MatrixView{m.data, m.rows + 1, m.cols, m.row_stride, m.col_stride, true};
}

// Applied to each tile or block of C right after its final accumulation, while it is
// in cache.
//   bias_activation (a dense layer's forward):      C = act(C + bias)
//   times_activation_derivative (its backward):     C = C * act'(.) from y = act(.),
//       y being M x N with leading dimension ldy (the previous layer's output)
//   adam_update (its weight gradient): C is kept, and C[i][j] is the gradient of the
//       parameter params[i * ldc + j], which one Adam step updates (with m and v laid
//       out the same), so the gradient is read back from cache rather than memory
struct GemmEpilogue {
  enum class Kind { bias_activation, times_activation_derivative, adam_update };
  Kind kind = Kind::bias_activation;
  const float* bias = nullptr;   // bias_activation: length N (per column of C), or null
  Activation activation = Activation::identity;
  float slope = 0.2f;
  const float* y = nullptr;      // times_activation_derivative
  std::int64_t ldy = 0;
  float* params = nullptr;       // adam_update: aligned with C, leading dimension ldc
  float* m = nullptr;
  float* v = nullptr;
  const AdamFactors* adam = nullptr;
};

inline GemmEpilogue bias_activation_epilogue(const float* bias, Activation act, float slope) {
  GemmEpilogue e;
  e.bias = bias;
  e.activation = act;
  e.slope = slope;
  return e;
}

inline GemmEpilogue activation_derivative_epilogue(const float* y, std::int64_t ldy,
                                                   Activation act, float slope) {
  GemmEpilogue e;
  e.kind = GemmEpilogue::Kind::times_activation_derivative;
  e.y = y;
  e.ldy = ldy;
  e.activation = act;
  e.slope = slope;
  return e;
}

inline GemmEpilogue adam_update_epilogue(float* params, float* m, float* v, const AdamFactors* adam) {
  GemmEpilogue e;
  e.kind = GemmEpilogue::Kind::adam_update;
  e.params = params;
  e.m = m;
  e.v = v;
  e.adam = adam;
  return e;
}

// The epilogue on one tile: rows x cols of C at c (leading dimension ldc) whose corner
// is element (i, j) of the whole C. Used by every GEMM path and by the reference.
void apply_epilogue_tile(const GemmEpilogue& e, float* c, std::int64_t ldc, std::int64_t i,
                         std::int64_t j, std::int64_t rows, std::int64_t cols);

// The arithmetic of a product. fp32: float operands, FMAs. bf16: each element of A and
// B rounded to bfloat16 (8 significant bits, nearest even) as it is packed, products
// summed in fp32, C fp32; about twice the fp32 kernel's flops per instruction where the
// CPU multiplies bf16 pairs (AVX512-BF16), and an std::invalid_argument where it
// cannot. Products at most 4 columns wide (gemm_is_skinny) stay fp32 either way: they
// are bound by memory, not arithmetic.
enum class GemmPrecision { fp32, bf16 };
GemmPrecision precision_from_name(const std::string& name);  // "fp32", "bf16"; else invalid_argument
const char* precision_name(GemmPrecision precision);

// C (M x N, row-major, leading dimension ldc) = A (M x K) B (K x N), or += when
// accumulate is true; the epilogue (if given) is applied last. K may be 0 (C = 0,
// or unchanged when accumulating, then the epilogue).
void gemm(const MatrixView& a, const MatrixView& b, float* c, std::int64_t ldc,
          bool accumulate, const GemmEpilogue* epilogue = nullptr,
          GemmPrecision precision = GemmPrecision::fp32);

// bfloat16 as the bf16 products round: the nearest bf16 (ties to even), returned as the
// float it stands for; NaN stays NaN, and infinities and zeros keep their sign. (The
// kernels' conversion makes subnormal inputs zeros of their sign, and so does this.)
float round_to_bf16(float x);

// True when a product N columns wide takes the skinny path (at most 4 columns, with A
// contiguous along its rows or its columns, as a dense layer's operands are), whose
// sums run in another order than the blocked path's: two ways of computing one result
// agree to the bit only when neither of them is skinny.
bool gemm_is_skinny(std::int64_t n);

// The naive triple loop, accumulated in double: the reference for tests. bf16 rounds
// the operands with round_to_bf16 first (but not those of a skinny product, as gemm).
void gemm_reference(const MatrixView& a, const MatrixView& b, float* c, std::int64_t ldc,
                    bool accumulate, const GemmEpilogue* epilogue = nullptr,
                    GemmPrecision precision = GemmPrecision::fp32);

// Micro-kernel registry. "generic" (portable C++), "avx2" (AVX2+FMA), "avx512" (AVX-512F).
std::string gemm_kernel_name();                     // the one in use
std::vector<std::string> gemm_available_kernels();  // those this CPU can run
void gemm_select_kernel(const std::string& name);   // throws std::invalid_argument
// The kernel GemmPrecision::bf16 products run ("avx512_bf16"), or "" on a CPU without one.
std::string gemm_bf16_kernel_name();

// Throws std::invalid_argument, "WHO: this CPU has no bf16 kernel (...)", where
// gemm_bf16_kernel_name() is empty: the one refusal of precision bf16 that every layer
// (gemm, Mlp, the bindings, the Python checks and the CLI's parsers) reports.
void require_bf16_kernel(const std::string& who);

// The machine's single-core float32 FMA peak in GFLOP/s, measured by a register-only
// FMA loop with the widest kernel available (used to report a fraction of peak).
double measure_fma_peak_gflops(double seconds);

}  // namespace gankit
