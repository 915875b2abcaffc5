// The skinny path's framework: layout checks, the ones row, threads, the epilogue
// (see skinny.h); the loops themselves are in skinny_generic.cpp / skinny_avx2.cpp.
#include "skinny.h"

#include <algorithm>

#include "gankit/aligned_buffer.h"
#include "gankit/threads.h"

namespace gankit {
namespace gemm_detail {

namespace {

// Rows of C per unit of work: a multiple of every kernel's row block.
constexpr std::int64_t kRowsPerChunk = 64;

// B's columns laid out contiguously along k, as the dot kernel reads them. A single
// column with unit row stride is used where it lies; otherwise copied into a buffer
// owned by the calling thread (grow-only, so a training loop allocates once).
const float* columns_along_k(const MatrixView& b) {
  if (b.cols == 1 && b.row_stride == 1) return b.data;
  thread_local AlignedBuffer columns;
  columns.resize_discard(b.rows * b.cols);
  float* out = columns.data();
  for (std::int64_t j = 0; j < b.cols; ++j)
    for (std::int64_t p = 0; p < b.rows; ++p) out[j * b.rows + p] = b.data[p * b.row_stride + j * b.col_stride];
  return out;
}

// The ones row of A times B: the column sums of B, summed in k order.
void column_sums(const MatrixView& b, float* c_row, bool accumulate) {
  for (std::int64_t j = 0; j < b.cols; ++j) {
    float sum = 0.0f;
    for (std::int64_t p = 0; p < b.rows; ++p) sum += b.data[p * b.row_stride + j * b.col_stride];
    c_row[j] = accumulate ? c_row[j] + sum : sum;
  }
}

}  // namespace

bool gemm_skinny(const SkinnyKernels& kernels, const MatrixView& a, const MatrixView& b,
                 float* c, std::int64_t ldc, bool accumulate, const GemmEpilogue* epilogue) {
  const std::int64_t N = b.cols, K = a.cols;
  const bool dot = a.col_stride == 1;   // rows of A contiguous along k
  const bool axpy = a.row_stride == 1;  // columns of A contiguous along i
  if (!gemm_is_skinny(N) || !(dot || axpy)) return false;

  const std::int64_t rows = a.data_rows();
  const int n = static_cast<int>(N);
  const float* bt = dot ? columns_along_k(b) : nullptr;
  const std::int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  // Per row: the FMAs plus the row's read of A, as memory-bound as it is arithmetic.
  const int nt = threads_for(chunks, kRowsPerChunk * static_cast<double>((2 * N + 1) * K));
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const std::int64_t i = chunk * kRowsPerChunk;
    const std::int64_t chunk_rows = std::min(kRowsPerChunk, rows - i);
    float* c_chunk = c + i * ldc;
    if (dot)
      kernels.dot(chunk_rows, K, n, a.data + i * a.row_stride, a.row_stride, bt, c_chunk, ldc,
                  accumulate);
    else
      kernels.axpy(chunk_rows, K, n, a.data + i, a.col_stride, b.data, b.row_stride,
                   b.col_stride, c_chunk, ldc, accumulate);
    if (epilogue != nullptr) apply_epilogue_tile(*epilogue, c_chunk, ldc, i, 0, chunk_rows, N);
  }
  if (a.ones_row) {
    float* c_last = c + rows * ldc;
    column_sums(b, c_last, accumulate);
    if (epilogue != nullptr) apply_epilogue_tile(*epilogue, c_last, ldc, rows, 0, 1, N);
  }
  return true;
}

}  // namespace gemm_detail

bool gemm_is_skinny(std::int64_t n) { return n <= gemm_detail::kSkinnyMaxN; }

}  // namespace gankit
