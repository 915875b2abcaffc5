// The GEMM epilogue on one tile (see GemmEpilogue in gemm.h), shared by every path.
#include "gankit/activation.h"
#include "gankit/gemm.h"

namespace gankit {

void apply_epilogue_tile(const GemmEpilogue& e, float* c, std::int64_t ldc, std::int64_t i,
                         std::int64_t j, std::int64_t rows, std::int64_t cols) {
  switch (e.kind) {
    case GemmEpilogue::Kind::bias_activation:
      bias_activation_tile(c, ldc, rows, cols, e.bias != nullptr ? e.bias + j : nullptr,
                           e.activation, e.slope);
      return;
    case GemmEpilogue::Kind::times_activation_derivative:
      activation_gradient_tile(c, ldc, e.y + i * e.ldy + j, e.ldy, rows, cols, e.activation,
                               e.slope);
      return;
    case GemmEpilogue::Kind::adam_update:
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t at = (i + r) * ldc + j;  // this row's parameters
        adam_span(*e.adam, e.params + at, c + r * ldc, e.m + at, e.v + at, cols);
      }
      return;
  }
}

}  // namespace gankit
