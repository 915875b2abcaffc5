// The naive GEMM: three loops, each dot product accumulated in double. Slow and
// obviously right, it is what the tests hold the blocked kernels to.
#include <cstdint>
#include <stdexcept>

#include "gankit/gemm.h"

namespace gankit {

void gemm_reference(const MatrixView& a, const MatrixView& b, float* c, std::int64_t ldc,
                    bool accumulate, const GemmEpilogue* epilogue) {
  if (a.cols != b.rows || ldc < b.cols)
    throw std::invalid_argument("gemm_reference: shapes do not match");
  const std::int64_t M = a.rows, N = b.cols, K = a.cols;
  for (std::int64_t i = 0; i < M; ++i) {
    for (std::int64_t j = 0; j < N; ++j) {
      double sum = accumulate ? static_cast<double>(c[i * ldc + j]) : 0.0;
      for (std::int64_t p = 0; p < K; ++p)
        sum += static_cast<double>(a.at(i, p)) *
               static_cast<double>(b.data[p * b.row_stride + j * b.col_stride]);
      c[i * ldc + j] = static_cast<float>(sum);
    }
  }
  if (epilogue != nullptr && M > 0 && N > 0) apply_epilogue_tile(*epilogue, c, ldc, 0, 0, M, N);
}

}  // namespace gankit
