// The GEMM framework, BLIS style: C (M x N) = A (M x K) B (K x N) (+ C).
//
//   for jc in N step nc:                  B panel  kc x nc  -> L3
//     for pc in K step kc:
//       pack B[pc:pc+kc, jc:jc+nc] into NR-wide micro-panels   (threads split panels)
//       for ic in M step mc:              A block  mc x kc  -> L2
//         pack A[ic:ic+mc, pc:pc+kc] into MR-tall micro-panels (threads split panels)
//         for jr, ir over the block's MR x NR tiles:           (threads split tiles)
//           micro-kernel: C tile (=|+=) A micro-panel x B micro-panel  -> registers
//           after the last pc block: epilogue on the tile while it is in L1
//
// Packing reads through the views' strides, so a transposed operand costs no copy
// beyond the packing every operand gets anyway. Threads only ever split whole tiles
// (and the copies of packing), each tile adds its kc blocks into C in pc order, and
// the blocking does not depend on the thread count: C is bitwise the same whatever
// the number of threads.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "gankit/aligned_buffer.h"
#include "gankit/gemm.h"
#include "gankit/threads.h"
#include "ukernel.h"

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace gankit {

namespace {

using gemm_detail::MicroKernel;

std::int64_t ceil_div(std::int64_t x, std::int64_t d) { return (x + d - 1) / d; }
std::int64_t round_up(std::int64_t x, std::int64_t d) { return ceil_div(x, d) * d; }

// ---------------------------------------------------------------------------------
// Packing. A and B pack the same way once B is read as its transpose: a block of X
// (X = A, or X = B^T), `rows` x kc, becomes ceil(rows / W) micro-panels of W rows
// (W = MR for A, NR for B), each stored depth step after depth step:
//   dst[q * W * kc + p * W + r] = X(q * W + r, p)
// The last panel is zero-padded to W rows, so the kernel always runs full width.
// W is a template parameter so the per-step copies have a compile-time length;
// W == 0 is the fallback that takes the width at run time.

struct PackSource {
  const float* data;  // X(0, 0) of the block
  std::int64_t rows;
  std::int64_t depth;  // kc
  std::int64_t row_stride;
  std::int64_t col_stride;
};

// Unit row stride (A stored transposed, or B row-major): depth step p of X is one
// contiguous run over all rows. Threads split the depth steps and every read streams
// along memory; walking a panel instead would touch one line per page, which the
// hardware prefetchers (that stop at page boundaries) cannot help.
template <int W>
void pack_unit_row_stride(const PackSource& x, int width, float* dst) {
  const int w = W > 0 ? W : width;
  const std::int64_t full_panels = x.rows / w;
  const int tail = static_cast<int>(x.rows % w);
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
  for (std::int64_t p = 0; p < x.depth; ++p) {
    const float* column = x.data + p * x.col_stride;
    float* out = dst + p * w;
    for (std::int64_t q = 0; q < full_panels; ++q) {
      std::memcpy(out, column, w * sizeof(float));  // a few vector moves when W is known
      column += w;
      out += w * x.depth;
    }
    if (tail > 0) {
      for (int r = 0; r < tail; ++r) out[r] = column[r];
      for (int r = tail; r < w; ++r) out[r] = 0.0f;
    }
  }
}

// dst[j * ld + i] = src[i * rs + j] for a 4 x 4 block: SSE is baseline on x86-64, so
// this needs no CPU check; elsewhere the compiler gets the plain loop.
inline void transpose_4x4(const float* src, std::int64_t rs, float* dst, std::int64_t ld) {
#if defined(__SSE__) || defined(_M_X64)
  __m128 row0 = _mm_loadu_ps(src);
  __m128 row1 = _mm_loadu_ps(src + rs);
  __m128 row2 = _mm_loadu_ps(src + 2 * rs);
  __m128 row3 = _mm_loadu_ps(src + 3 * rs);
  _MM_TRANSPOSE4_PS(row0, row1, row2, row3);
  _mm_storeu_ps(dst, row0);
  _mm_storeu_ps(dst + ld, row1);
  _mm_storeu_ps(dst + 2 * ld, row2);
  _mm_storeu_ps(dst + 3 * ld, row3);
#else
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) dst[j * ld + i] = src[i * rs + j];
#endif
}

// One full panel from W rows each contiguous along the depth: a transpose, done four
// rows at a time. Four streams, not W: rows of a matrix whose width is a multiple of
// 1024 floats are 4 KiB apart and all map to one L1 set, so W streams at once would
// evict each other's lines before using them (measured 0.15 vs 0.37 ns per float at
// W = 16 on Zen 4).
template <int W>
void transpose_rows_into_panel(const float* first_row, std::int64_t row_stride,
                               std::int64_t depth, float* out) {
  static_assert(W > 0, "the width must be known at compile time");
  const std::int64_t body = depth / 4 * 4;
  int r = 0;
  for (; r + 4 <= W; r += 4) {
    const float* rows = first_row + r * row_stride;
    for (std::int64_t p = 0; p < body; p += 4)
      transpose_4x4(rows + p, row_stride, out + p * W + r, W);
  }
  for (; r < W; ++r) {  // W % 4 leftover rows (W = 6: two)
    const float* row = first_row + r * row_stride;
    for (std::int64_t p = 0; p < body; ++p) out[p * W + r] = row[p];
  }
  for (r = 0; r < W; ++r) {  // depth % 4 leftover steps
    const float* row = first_row + r * row_stride;
    for (std::int64_t p = body; p < depth; ++p) out[p * W + r] = row[p];
  }
}

// Unit column stride (A row-major, or B stored transposed): each row of X is
// contiguous along the depth, so a panel reads W sequential streams. Threads split
// the panels.
template <int W>
void pack_unit_col_stride(const PackSource& x, int width, float* dst) {
  const int w = W > 0 ? W : width;
  const std::int64_t panels = ceil_div(x.rows, w);
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
  for (std::int64_t q = 0; q < panels; ++q) {
    const float* first_row = x.data + q * w * x.row_stride;
    float* out = dst + q * w * x.depth;
    const int lanes = static_cast<int>(std::min<std::int64_t>(w, x.rows - q * w));
    if constexpr (W > 0) {
      if (lanes == W) {
        transpose_rows_into_panel<W>(first_row, x.row_stride, x.depth, out);
        continue;
      }
    }
    for (int r = 0; r < lanes; ++r) {
      const float* row = first_row + r * x.row_stride;
      for (std::int64_t p = 0; p < x.depth; ++p) out[p * w + r] = row[p];
    }
    for (int r = lanes; r < w; ++r)
      for (std::int64_t p = 0; p < x.depth; ++p) out[p * w + r] = 0.0f;
  }
}

// Any other strides (views of sub-matrices with gaps): element by element.
template <int W>
void pack_strided(const PackSource& x, int width, float* dst) {
  const int w = W > 0 ? W : width;
  const std::int64_t panels = ceil_div(x.rows, w);
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
  for (std::int64_t q = 0; q < panels; ++q) {
    const float* first_row = x.data + q * w * x.row_stride;
    float* out = dst + q * w * x.depth;
    const int lanes = static_cast<int>(std::min<std::int64_t>(w, x.rows - q * w));
    for (std::int64_t p = 0; p < x.depth; ++p) {
      for (int r = 0; r < lanes; ++r)
        out[p * w + r] = first_row[r * x.row_stride + p * x.col_stride];
      for (int r = lanes; r < w; ++r) out[p * w + r] = 0.0f;
    }
  }
}

template <int W>
void pack_block_of_width(const PackSource& x, int width, float* dst) {
  if (x.row_stride == 1)
    pack_unit_row_stride<W>(x, width, dst);
  else if (x.col_stride == 1)
    pack_unit_col_stride<W>(x, width, dst);
  else
    pack_strided<W>(x, width, dst);
}

// Every thread of the team calls this (the loops inside are omp-for); the loop's
// closing barrier publishes the packed block to the whole team.
void pack_block(const PackSource& x, int width, float* dst) {
  switch (width) {  // the widths of the kernels we ship
    case 4: return pack_block_of_width<4>(x, width, dst);
    case 6: return pack_block_of_width<6>(x, width, dst);
    case 8: return pack_block_of_width<8>(x, width, dst);
    case 12: return pack_block_of_width<12>(x, width, dst);
    case 16: return pack_block_of_width<16>(x, width, dst);
    case 32: return pack_block_of_width<32>(x, width, dst);
    default: return pack_block_of_width<0>(x, width, dst);
  }
}

// ---------------------------------------------------------------------------------
// One gemm call, as every thread of the team sees it.
struct GemmPlan {
  const MicroKernel* kernel;
  MatrixView a;  // M x K
  MatrixView b;  // K x N
  float* c;      // M x N, leading dimension ldc
  std::int64_t ldc;
  bool accumulate;
  const GemmEpilogue* epilogue;  // null when it would change nothing
  std::int64_t mc, kc, nc;       // this call's blocking (clamped to the problem)
  float* packed_a;               // mc x kc
  float* packed_b;               // kc x nc
};

// Range of one block: [start, start + size).
struct Block {
  std::int64_t start;
  std::int64_t size;
};

// B[pc block, jc block] (kc x nc) into NR-wide micro-panels: packed as B^T.
void pack_b_panel(const GemmPlan& plan, Block pc, Block jc) {
  const MatrixView& b = plan.b;
  const PackSource bt{b.data + pc.start * b.row_stride + jc.start * b.col_stride, jc.size,
                      pc.size, b.col_stride, b.row_stride};
  pack_block(bt, plan.kernel->nr, plan.packed_b);
}

// A[ic block, pc block] (mc x kc) into MR-tall micro-panels.
void pack_a_block(const GemmPlan& plan, Block ic, Block pc) {
  const MatrixView& a = plan.a;
  const PackSource block{a.data + ic.start * a.row_stride + pc.start * a.col_stride, ic.size,
                         pc.size, a.row_stride, a.col_stride};
  pack_block(block, plan.kernel->mr, plan.packed_a);
}

// Every MR x NR tile of the (ic, jc) block of C gets this pc block's contribution;
// tiles are independent, so threads split them with no further synchronisation.
// Tiles run jr-major: consecutive tiles of a thread reuse one B micro-panel from L1
// while the A block streams from L2.
void multiply_block(const GemmPlan& plan, Block ic, Block pc, Block jc) {
  const MicroKernel& kernel = *plan.kernel;
  const std::int64_t tiles_down = ceil_div(ic.size, kernel.mr);
  const std::int64_t tiles = tiles_down * ceil_div(jc.size, kernel.nr);
  const bool first_pc = pc.start == 0;
  const bool last_pc = pc.start + pc.size == plan.a.cols;
  const bool accumulate = plan.accumulate || !first_pc;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
  for (std::int64_t t = 0; t < tiles; ++t) {
    const std::int64_t jr = t / tiles_down;
    const std::int64_t ir = t % tiles_down;
    const std::int64_t i = ic.start + ir * kernel.mr;  // tile corner in C
    const std::int64_t j = jc.start + jr * kernel.nr;
    const auto rows = static_cast<int>(std::min<std::int64_t>(kernel.mr, ic.start + ic.size - i));
    const auto cols = static_cast<int>(std::min<std::int64_t>(kernel.nr, jc.start + jc.size - j));
    float* c_tile = plan.c + i * plan.ldc + j;
    kernel.run(pc.size, plan.packed_a + ir * kernel.mr * pc.size,
               plan.packed_b + jr * kernel.nr * pc.size, c_tile, plan.ldc, rows, cols,
               accumulate);
    if (last_pc && plan.epilogue != nullptr) {
      const GemmEpilogue& ep = *plan.epilogue;
      bias_activation_tile(c_tile, plan.ldc, rows, cols,
                           ep.bias != nullptr ? ep.bias + j : nullptr, ep.activation,
                           ep.slope);
    }
  }
}

// The five loops around the micro-kernel; run by each thread of the team. The closing
// barriers of the omp-for loops order the steps: a panel is packed before anyone
// multiplies with it, and everyone is done with it before it is overwritten.
void run_blocked(const GemmPlan& plan) {
  const std::int64_t M = plan.a.rows, N = plan.b.cols, K = plan.a.cols;
  for (std::int64_t j = 0; j < N; j += plan.nc) {
    const Block jc{j, std::min(plan.nc, N - j)};
    for (std::int64_t p = 0; p < K; p += plan.kc) {
      const Block pc{p, std::min(plan.kc, K - p)};
      pack_b_panel(plan, pc, jc);
      for (std::int64_t i = 0; i < M; i += plan.mc) {
        const Block ic{i, std::min(plan.mc, M - i)};
        pack_a_block(plan, ic, pc);
        multiply_block(plan, ic, pc, jc);
      }
    }
  }
}

// K == 0: the product is empty, so C is zero (or kept), then the epilogue.
void empty_product(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                   bool accumulate, const GemmEpilogue* epilogue) {
  if (!accumulate)
    for (std::int64_t i = 0; i < rows; ++i) std::fill(c + i * ldc, c + i * ldc + cols, 0.0f);
  if (epilogue != nullptr)
    bias_activation_tile(c, ldc, rows, cols, epilogue->bias, epilogue->activation,
                         epilogue->slope);
}

bool changes_nothing(const GemmEpilogue* epilogue) {
  return epilogue == nullptr ||
         (epilogue->bias == nullptr && epilogue->activation == Activation::identity);
}

void check_shapes(const MatrixView& a, const MatrixView& b, std::int64_t ldc) {
  if (a.rows < 0 || a.cols < 0 || b.rows < 0 || b.cols < 0 || a.cols != b.rows)
    throw std::invalid_argument("gemm: cannot multiply " + std::to_string(a.rows) + "x" +
                                std::to_string(a.cols) + " by " + std::to_string(b.rows) +
                                "x" + std::to_string(b.cols));
  if (ldc < b.cols)
    throw std::invalid_argument("gemm: ldc " + std::to_string(ldc) + " < N " +
                                std::to_string(b.cols));
}

}  // namespace

void gemm(const MatrixView& a, const MatrixView& b, float* c, std::int64_t ldc,
          bool accumulate, const GemmEpilogue* epilogue) {
  check_shapes(a, b, ldc);
  const std::int64_t M = a.rows, N = b.cols, K = a.cols;
  if (M == 0 || N == 0) return;
  if (changes_nothing(epilogue)) epilogue = nullptr;
  if (K == 0) {
    empty_product(c, ldc, M, N, accumulate, epilogue);
    return;
  }

  const MicroKernel& kernel = gemm_detail::active_micro_kernel();
  const gemm_detail::Blocking& full = kernel.blocking;
  const std::int64_t mc = std::min(full.mc, round_up(M, kernel.mr));
  const std::int64_t kc = std::min(full.kc, K);
  const std::int64_t nc = std::min(full.nc, round_up(N, kernel.nr));

  // Owned by the calling thread, so two Python threads multiplying at once never
  // share a panel; grow-only, so a training loop allocates on its first step only.
  thread_local AlignedBuffer packed_a;
  thread_local AlignedBuffer packed_b;
  packed_a.resize_discard(mc * kc);
  packed_b.resize_discard(kc * nc);

  const GemmPlan plan{&kernel, a, b, c, ldc, accumulate, epilogue, mc, kc, nc,
                      packed_a.data(), packed_b.data()};
  const std::int64_t tiles = ceil_div(M, kernel.mr) * ceil_div(N, kernel.nr);
  const int nt = threads_for(tiles, 2.0 * kernel.mr * kernel.nr * static_cast<double>(K));
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
  run_blocked(plan);
#else
  (void)nt;  // built without OpenMP: the calling thread does it all
  run_blocked(plan);
#endif
}

}  // namespace gankit
