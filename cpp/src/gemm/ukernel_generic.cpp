// The portable micro-kernel: plain C++ that any compiler vectorises for its baseline
// ISA (two SSE or NEON registers per row of the 4 x 8 tile, 8 accumulator registers in
// all, which fits the 16 of baseline x86-64 with room for B and the broadcast of A).
#include <cstdint>

#include "skinny.h"
#include "ukernel.h"

namespace gankit {
namespace gemm_detail {

namespace {

constexpr int kMR = 4;
constexpr int kNR = 8;

void generic_4x8(std::int64_t k, const float* a, std::int64_t, const float* b, float* c,
                 std::int64_t ldc, int m, int n, bool accumulate, const TileEpilogue*) {
  float acc[kMR][kNR] = {};
  for (std::int64_t p = 0; p < k; ++p) {
    const float* a_col = a + p * kMR;  // MR values of column p of A
    const float* b_row = b + p * kNR;  // NR values of row p of B
    for (int i = 0; i < kMR; ++i) {
      const float a_ip = a_col[i];
      for (int j = 0; j < kNR; ++j) acc[i][j] += a_ip * b_row[j];
    }
  }
  for (int i = 0; i < m; ++i) {
    float* c_row = c + i * ldc;
    if (accumulate) {
      for (int j = 0; j < n; ++j) c_row[j] += acc[i][j];
    } else {
      for (int j = 0; j < n; ++j) c_row[j] = acc[i][j];
    }
  }
}

bool always_supported() { return true; }

}  // namespace

// An A micro-panel (4 x 256) and a B micro-panel (256 x 8) take 12 KiB of L1; mc and
// nc follow the AVX2 kernel's L2/L3 budget. The depth matters little here: this kernel
// is bound by its arithmetic, not by the caches.
const MicroKernel& generic_micro_kernel() {
  static const MicroKernel kernel{"generic", kMR, kNR, generic_4x8, always_supported,
                                  Blocking{144, 256, 2048}, &generic_skinny_kernels(),
                                  /*run_rowmajor_a=*/nullptr, /*fuses_epilogue=*/false,
                                  /*blocking_from_model=*/true};
  return kernel;
}

}  // namespace gemm_detail
}  // namespace gankit
