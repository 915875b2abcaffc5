// The GEMM epilogue on one tile (see GemmEpilogue in gemm.h), shared by every path.
#include "gankit/activation.h"
#include "gankit/gemm.h"

namespace gankit {

void apply_epilogue_tile(const GemmEpilogue& e, float* c, std::int64_t ldc, std::int64_t i,
                         std::int64_t j, std::int64_t rows, std::int64_t cols) {
  if (e.kind == GemmEpilogue::Kind::bias_activation)
    bias_activation_tile(c, ldc, rows, cols, e.bias != nullptr ? e.bias + j : nullptr,
                         e.activation, e.slope);
  else
    activation_gradient_tile(c, ldc, e.y + i * e.ldy + j, e.ldy, rows, cols, e.activation,
                             e.slope);
}

}  // namespace gankit
