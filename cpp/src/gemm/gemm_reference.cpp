// The naive GEMM: three loops, each dot product accumulated in double. Slow and
// obviously right, it is what the tests hold the blocked kernels to. For bf16 it rounds
// each operand as the bf16 kernels do and then sums exactly as for fp32, so what is
// left between the two is the kernels' fp32 accumulation.
#include <cstdint>
#include <stdexcept>

#include "gankit/gemm.h"

namespace gankit {

void gemm_reference(const MatrixView& a, const MatrixView& b, float* c, std::int64_t ldc,
                    bool accumulate, const GemmEpilogue* epilogue, GemmPrecision precision) {
  if (a.cols != b.rows || ldc < b.cols)
    throw std::invalid_argument("gemm_reference: shapes do not match");
  const std::int64_t M = a.rows, N = b.cols, K = a.cols;
  // Skinny products stay fp32 under bf16 (gankit/gemm.h).
  const bool bf16 = precision == GemmPrecision::bf16 && !gemm_is_skinny(N);
  auto operand = [bf16](float x) { return static_cast<double>(bf16 ? round_to_bf16(x) : x); };
  for (std::int64_t i = 0; i < M; ++i) {
    for (std::int64_t j = 0; j < N; ++j) {
      double sum = accumulate ? static_cast<double>(c[i * ldc + j]) : 0.0;
      for (std::int64_t p = 0; p < K; ++p)
        sum += operand(a.at(i, p)) * operand(b.data[p * b.row_stride + j * b.col_stride]);
      c[i * ldc + j] = static_cast<float>(sum);
    }
  }
  if (epilogue != nullptr && M > 0 && N > 0) apply_epilogue_tile(*epilogue, c, ldc, 0, 0, M, N);
}

}  // namespace gankit
