// The portable skinny loops: each element of C summed in k order, in float.
#include "skinny.h"

namespace gankit {
namespace gemm_detail {

namespace {

void dot(std::int64_t rows, std::int64_t k, int n, const float* a, std::int64_t lda,
         const float* bt, float* c, std::int64_t ldc, bool accumulate) {
  for (std::int64_t i = 0; i < rows; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (std::int64_t p = 0; p < k; ++p) sum += a[i * lda + p] * bt[j * k + p];
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
    }
  }
}

void axpy(std::int64_t rows, std::int64_t k, int n, const float* x, std::int64_t ldx,
          const float* b, std::int64_t b_rs, std::int64_t b_cs, float* c, std::int64_t ldc,
          bool accumulate) {
  for (std::int64_t i = 0; i < rows; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (std::int64_t p = 0; p < k; ++p) sum += x[p * ldx + i] * b[p * b_rs + j * b_cs];
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
    }
  }
}

}  // namespace

const SkinnyKernels& generic_skinny_kernels() {
  static const SkinnyKernels kernels{dot, axpy};
  return kernels;
}

}  // namespace gemm_detail
}  // namespace gankit
