// Internal to the GEMM: the path for products with at most kSkinnyMaxN columns.
//
// A dense layer with one or two outputs (the discriminator's logit, a 2-D generator's
// sample) makes products N = 1 or 2 wide. The blocked path would pad each NR = 16 (or
// 32) wide tile with zeros and waste 15/16 of its arithmetic, and pack operands it
// reads only once. Here the two layouts a dense layer produces get their own loops:
//   dot:  A stored row-major (x w):        C[i][j] = sum_k A[i][k] B[k][j], along k
//   axpy: A stored transposed (xᵀ d_z):    C[i][j] = sum_k X[k][i] B[k][j], along i
// Each row of C is computed by one thread in a fixed order, so results do not depend
// on the number of threads.
#pragma once
#include <cstdint>

#include "gankit/gemm.h"

namespace gankit {
namespace gemm_detail {

constexpr int kSkinnyMaxN = 4;  // gemm_is_skinny() in gankit/gemm.h answers with it

struct SkinnyKernels {
  // C[i][j] (= or +=) sum_p a[i * lda + p] * bt[j * k + p]    i < rows, j < n, p < k
  void (*dot)(std::int64_t rows, std::int64_t k, int n, const float* a, std::int64_t lda,
              const float* bt, float* c, std::int64_t ldc, bool accumulate);
  // C[i][j] (= or +=) sum_p x[p * ldx + i] * b[p * b_rs + j * b_cs]    i < rows, j < n, p < k
  void (*axpy)(std::int64_t rows, std::int64_t k, int n, const float* x, std::int64_t ldx,
               const float* b, std::int64_t b_rs, std::int64_t b_cs, float* c,
               std::int64_t ldc, bool accumulate);
};

const SkinnyKernels& generic_skinny_kernels();
const SkinnyKernels& avx2_skinny_kernels();  // AVX2+FMA; only on CPUs that have it

// Runs C = / += A B (then the epilogue) on the skinny path and returns true, or returns
// false without touching C when the shape or layout is not one it handles.
bool gemm_skinny(const SkinnyKernels& kernels, const MatrixView& a, const MatrixView& b,
                 float* c, std::int64_t ldc, bool accumulate, const GemmEpilogue* epilogue);

}  // namespace gemm_detail
}  // namespace gankit
