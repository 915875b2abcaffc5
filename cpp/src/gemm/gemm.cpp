// The GEMM framework, BLIS style: C (M x N) = A (M x K) B (K x N) (+ C).
//
//   for jc in N step nc:                  B panel  kc x nc  -> L3
//     for pc in K step kc:
//       pack B[pc:pc+kc, jc:jc+nc] into NR-wide micro-panels
//       for ic in M step mc:              A block  mc x kc  -> L2
//         pack A[ic:ic+mc, pc:pc+kc] into MR-tall micro-panels
//         for jr, ir over the block's MR x NR tiles:
//           micro-kernel: C tile (=|+=) A micro-panel x B micro-panel  -> registers
//           after the last pc block: the epilogue, fused into the kernel's store, or
//           over the finished block while it is in L2
//
// Packing reads through the views' strides, so a transposed operand costs no copy
// beyond the packing every operand gets anyway (pack.cpp). Products at most
// kSkinnyMaxN wide take their own path (skinny.cpp).
//
// A bf16 product (GemmPrecision::bf16) runs the same loops with a kernel whose
// operands are bfloat16: each packed fp32 panel is then rounded by the kernel's
// pack_pairs into 32-bit slots of two depth steps (ukernel.h), and the kernel walks
// ceil(kc / 2) slots where an fp32 kernel walks kc steps. C and its accumulation
// across kc blocks stay fp32.
//
// Threads split C once, up front, in the direction that balances best, and then
// synchronise as little as possible (a barrier costs about as much as a small tile):
//   by rows:    each thread owns a range of row tiles and packs its own A blocks; the
//               threads pack each B panel together, with one barrier after the packing
//               and one before the panel is overwritten;
//   by columns: each thread owns a range of column tiles and computes that slice of C
//               as an independent product, packing A and its B columns itself: no
//               barrier at all (chosen when there are too few row tiles to share,
//               and where B is read in place).
// Every element of C is accumulated by one thread, over its kc blocks in order, with
// the same micro-kernel whatever the split, and the blocking does not depend on the
// thread count: C is bitwise the same for any number of threads.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "gankit/aligned_buffer.h"
#include "gankit/gemm.h"
#include "gankit/threads.h"
#include "blocking.h"
#include "pack.h"
#include "skinny.h"
#include "tile_math.h"
#include "ukernel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gankit {

namespace {

using gemm_detail::kWhole;
using gemm_detail::MicroKernel;
using gemm_detail::MicroKernelFn;
using gemm_detail::PackSource;
using gemm_detail::Share;

using gemm_detail::ceil_div;
using gemm_detail::round_up;

// Range of one block: [start, start + size).
struct Block {
  std::int64_t start;
  std::int64_t size;
};

// One gemm call, as every thread sees it.
struct GemmPlan {
  const MicroKernel* kernel;
  MatrixView a;  // M x K
  MatrixView b;  // K x N
  float* c;      // M x N, leading dimension ldc
  std::int64_t ldc;
  bool accumulate;
  const GemmEpilogue* epilogue;  // null when it would change nothing
  std::int64_t mc, kc, nc;       // this call's blocking (clamped to the problem)
  bool a_in_place;               // the kernel reads row-major A where it lies
  bool b_in_place;               // ... and row-major B (then no B panel is packed)
  bool kernel_fuses_epilogue;    // the kernel applies *epilogue in registers

  bool bf16() const { return kernel->pack_pairs != nullptr; }
  // What the kernel's k counts for a block of `depth` steps: the steps themselves, or
  // for a bf16 kernel the 32-bit slots holding two of them.
  std::int64_t kernel_depth(std::int64_t depth) const { return bf16() ? (depth + 1) / 2 : depth; }
};

// The micro-kernel's view of the epilogue for the tile at (i, j) of C.
gemm_detail::TileEpilogue tile_epilogue(const GemmEpilogue& e, std::int64_t i, std::int64_t j) {
  return gemm_detail::TileEpilogue{e.kind, e.bias != nullptr ? e.bias + j : nullptr, e.activation,
                                   e.slope, e.y != nullptr ? e.y + i * e.ldy + j : nullptr, e.ldy};
}

// Packing space of one thread, grow-only, so a training loop allocates on its first
// step only. Owned per thread, so concurrent products (two Python threads, or the
// threads of one product packing their own blocks) never share a panel.
// A bf16 product packs fp32 into a and b, then rounds them into a_pairs and b_pairs,
// which the kernel reads.
struct PackBuffers {
  AlignedBuffer a;
  AlignedBuffer b;
  AlignedBuffer a_pairs;
  AlignedBuffer b_pairs;
};

PackBuffers& thread_pack_buffers(const GemmPlan& plan) {
  thread_local PackBuffers buffers;
  buffers.a.resize_discard(plan.mc * plan.kc);
  buffers.b.resize_discard(plan.kc * plan.nc);
  if (plan.bf16()) {
    buffers.a_pairs.resize_discard(plan.mc * plan.kernel_depth(plan.kc));
    buffers.b_pairs.resize_discard(plan.nc * plan.kernel_depth(plan.kc));
  }
  return buffers;
}

// This share of the panels packed at `panels` (fp32, `width` rows of `depth` steps
// each, `rows` rows in all) rounded into bf16 slots at `pairs`.
void round_panels(const GemmPlan& plan, const float* panels, int width, std::int64_t rows,
                  std::int64_t depth, float* pairs, Share share) {
  const std::int64_t count = ceil_div(rows, width);
  const std::int64_t first = count * share.part / share.parts;
  const std::int64_t last = count * (share.part + 1) / share.parts;
  plan.kernel->pack_pairs(panels, width, depth, first, last, pairs);
}

// Where the kernel reads the B of one (pc, jc) block: NR-wide packed micro-panels
// (ldb unused), or B itself at the block's corner.
struct BSource {
  const float* data;
  std::int64_t ldb;        // B in place: its row stride
  std::int64_t tile_step;  // from one NR-wide column tile to the next
};

BSource b_in_place(const GemmPlan& plan, Block pc, Block jc) {
  return BSource{plan.b.data + pc.start * plan.b.row_stride + jc.start, plan.b.row_stride,
                 plan.kernel->nr};
}

BSource b_packed(const GemmPlan& plan, const float* panels, Block pc) {
  return BSource{panels, plan.kernel->nr, plan.kernel->nr * plan.kernel_depth(pc.size)};
}

// A bf16 kernel's slots straight from the operand, where the kernel takes that layout
// (MicroKernel::pack_pairs_direct); false: pack fp32 and round instead. The answer
// depends on the layout alone, so every thread sharing a panel gets the same one.
bool pack_pairs_directly(const GemmPlan& plan, const PackSource& x, int width, float* pairs, Share share) {
  return plan.bf16() && plan.kernel->pack_pairs_direct != nullptr &&
         plan.kernel->pack_pairs_direct(x, width, pairs, share);
}

// B[pc block, jc block] (kc x nc), read as Bᵀ: what pack_block packs into NR-wide
// micro-panels.
PackSource b_block_source(const GemmPlan& plan, Block pc, Block jc) {
  const MatrixView& b = plan.b;
  return PackSource{b.data + pc.start * b.row_stride + jc.start * b.col_stride, jc.size,
                    pc.size, b.col_stride, b.row_stride, false};
}

// A[ic block, pc block] (mc x kc) into MR-tall micro-panels; returns what the kernel
// reads: those panels (for a bf16 kernel its slots, straight from A or rounded from the
// fp32 panels), or A itself at the block's corner when it is read in place.
const float* pack_a_block(const GemmPlan& plan, Block ic, Block pc, float* packed_a, float* a_pairs) {
  const MatrixView& a = plan.a;
  if (plan.a_in_place) return a.data + ic.start * a.row_stride + pc.start;
  // The ones row, if any, is A's last: in the last block, after its rows of data.
  const bool has_ones_row = a.ones_row && ic.start + ic.size == a.rows;
  const PackSource block{a.data + ic.start * a.row_stride + pc.start * a.col_stride,
                         has_ones_row ? ic.size - 1 : ic.size, pc.size, a.row_stride,
                         a.col_stride, has_ones_row};
  if (pack_pairs_directly(plan, block, plan.kernel->mr, a_pairs, kWhole)) return a_pairs;
  gemm_detail::pack_block(block, plan.kernel->mr, packed_a, kWhole);
  if (!plan.bf16()) return packed_a;
  round_panels(plan, packed_a, plan.kernel->mr, ic.size, pc.size, a_pairs, kWhole);
  return a_pairs;
}

// Every MR x NR tile of the (ic, jc) block of C gets this pc block's contribution.
// Tiles run jr-major: consecutive tiles reuse one B micro-panel from L1 while the A
// block streams from L2.
void multiply_block(const GemmPlan& plan, Block ic, Block pc, Block jc, const float* a_block,
                    const BSource& b_block) {
  const MicroKernel& kernel = *plan.kernel;
  const std::int64_t tiles_down = ceil_div(ic.size, kernel.mr);
  const std::int64_t tiles_across = ceil_div(jc.size, kernel.nr);
  const bool last_pc = pc.start + pc.size == plan.a.cols;
  const bool accumulate = plan.accumulate || pc.start != 0;
  const GemmEpilogue* epilogue = last_pc ? plan.epilogue : nullptr;
  const MicroKernelFn run = plan.a_in_place ? kernel.run_rowmajor_a : kernel.run;
  const gemm_detail::InPlaceBKernelFn run_b_in_place =
      plan.a_in_place ? kernel.run_rowmajor_ab : kernel.run_rowmajor_b;
  const std::int64_t depth = plan.kernel_depth(pc.size);
  // Between tiles of A: one packed micro-panel, or MR rows of A in place.
  const std::int64_t a_tile_step = plan.a_in_place ? kernel.mr * plan.a.row_stride : kernel.mr * depth;
  for (std::int64_t jr = 0; jr < tiles_across; ++jr) {
    const std::int64_t j = jc.start + jr * kernel.nr;  // tile corner in C
    const auto cols = static_cast<int>(std::min<std::int64_t>(kernel.nr, jc.start + jc.size - j));
    const float* b_tile = b_block.data + jr * b_block.tile_step;
    for (std::int64_t ir = 0; ir < tiles_down; ++ir) {
      const std::int64_t i = ic.start + ir * kernel.mr;
      const auto rows = static_cast<int>(std::min<std::int64_t>(kernel.mr, ic.start + ic.size - i));
      float* c_tile = plan.c + i * plan.ldc + j;
      const float* a_tile = a_block + ir * a_tile_step;
      gemm_detail::TileEpilogue fused;
      const gemm_detail::TileEpilogue* tile_epilogue_or_null = nullptr;
      if (epilogue != nullptr && plan.kernel_fuses_epilogue) {
        fused = tile_epilogue(*epilogue, i, j);
        tile_epilogue_or_null = &fused;
      }
      if (plan.b_in_place)
        run_b_in_place(depth, a_tile, plan.a.row_stride, b_tile, b_block.ldb, c_tile, plan.ldc, rows,
                       cols, accumulate, tile_epilogue_or_null);
      else
        run(depth, a_tile, plan.a.row_stride, b_tile, c_tile, plan.ldc, rows, cols, accumulate,
            tile_epilogue_or_null);
    }
  }
  // An epilogue the kernel cannot fuse (tanh, sigmoid; any, for kernels that fuse none)
  // runs over the whole block while it is still in L2: rows of the block's full width
  // keep the vector loops long, where a 16-wide tile row would be mostly call overhead.
  if (epilogue != nullptr && !plan.kernel_fuses_epilogue)
    apply_epilogue_tile(*epilogue, plan.c + ic.start * plan.ldc + jc.start, plan.ldc, ic.start,
                        jc.start, ic.size, jc.size);
}

// The rows of C in `rows` times B's columns in `cols`, by one thread on its own buffers.
void run_alone(const GemmPlan& plan, Block rows, Block cols, PackBuffers& buffers) {
  const std::int64_t K = plan.a.cols;
  for (std::int64_t j = cols.start; j < cols.start + cols.size; j += plan.nc) {
    const Block jc{j, std::min(plan.nc, cols.start + cols.size - j)};
    for (std::int64_t p = 0; p < K; p += plan.kc) {
      const Block pc{p, std::min(plan.kc, K - p)};
      BSource b_block = b_in_place(plan, pc, jc);
      if (!plan.b_in_place && pack_pairs_directly(plan, b_block_source(plan, pc, jc), plan.kernel->nr,
                                                  buffers.b_pairs.data(), kWhole)) {
        b_block = b_packed(plan, buffers.b_pairs.data(), pc);
      } else if (!plan.b_in_place) {
        gemm_detail::pack_block(b_block_source(plan, pc, jc), plan.kernel->nr, buffers.b.data(), kWhole);
        b_block = b_packed(plan, buffers.b.data(), pc);
        if (plan.bf16()) {
          round_panels(plan, buffers.b.data(), plan.kernel->nr, jc.size, pc.size, buffers.b_pairs.data(), kWhole);
          b_block = b_packed(plan, buffers.b_pairs.data(), pc);
        }
      }
      for (std::int64_t i = rows.start; i < rows.start + rows.size; i += plan.mc) {
        const Block ic{i, std::min(plan.mc, rows.start + rows.size - i)};
        const float* a_block = pack_a_block(plan, ic, pc, buffers.a.data(), buffers.a_pairs.data());
        multiply_block(plan, ic, pc, jc, a_block, b_block);
      }
    }
  }
}

// Tiles [first, last) of `count` tiles of `width` along a dimension of `extent`, as the
// elements they cover.
Block tile_range(std::int64_t extent, int width, std::int64_t count, Share share) {
  const std::int64_t first = count * share.part / share.parts;
  const std::int64_t last = count * (share.part + 1) / share.parts;
  const std::int64_t start = std::min(extent, first * width);
  return Block{start, std::min(extent, last * width) - start};
}

#ifdef _OPENMP
// Split by rows, run by every thread of the team: B panels packed together (shared
// buffers of the calling thread; a bf16 product rounds them together too, after a
// second barrier), A blocks each thread for its own rows.
void run_split_by_rows(const GemmPlan& plan, float* shared_packed_b, float* shared_b_pairs, Share me) {
  const std::int64_t M = plan.a.rows, N = plan.b.cols, K = plan.a.cols;
  const Block my_rows = tile_range(M, plan.kernel->mr, ceil_div(M, plan.kernel->mr), me);
  PackBuffers& mine = thread_pack_buffers(plan);
  for (std::int64_t j = 0; j < N; j += plan.nc) {
    const Block jc{j, std::min(plan.nc, N - j)};
    for (std::int64_t p = 0; p < K; p += plan.kc) {
      const Block pc{p, std::min(plan.kc, K - p)};
      BSource b_block = b_in_place(plan, pc, jc);  // then nothing is shared: no barriers
      if (!plan.b_in_place && pack_pairs_directly(plan, b_block_source(plan, pc, jc), plan.kernel->nr,
                                                  shared_b_pairs, me)) {
#pragma omp barrier
        b_block = b_packed(plan, shared_b_pairs, pc);
      } else if (!plan.b_in_place) {
        gemm_detail::pack_block(b_block_source(plan, pc, jc), plan.kernel->nr, shared_packed_b, me);
#pragma omp barrier
        b_block = b_packed(plan, shared_packed_b, pc);
        if (plan.bf16()) {
          round_panels(plan, shared_packed_b, plan.kernel->nr, jc.size, pc.size, shared_b_pairs, me);
          b_block = b_packed(plan, shared_b_pairs, pc);
#pragma omp barrier
        }
      }
      for (std::int64_t i = my_rows.start; i < my_rows.start + my_rows.size; i += plan.mc) {
        const Block ic{i, std::min(plan.mc, my_rows.start + my_rows.size - i)};
        const float* a_block = pack_a_block(plan, ic, pc, mine.a.data(), mine.a_pairs.data());
        multiply_block(plan, ic, pc, jc, a_block, b_block);
      }
      if (!plan.b_in_place && (p + plan.kc < K || j + plan.nc < N)) {
#pragma omp barrier
      }
    }
  }
}
#endif

// Runs the plan on `nt` threads (1: the calling thread alone).
void run_blocked(const GemmPlan& plan, int nt) {
  const std::int64_t M = plan.a.rows, N = plan.b.cols;
  PackBuffers& callers = thread_pack_buffers(plan);
  if (nt <= 1) {
    run_alone(plan, Block{0, M}, Block{0, N}, callers);
    return;
  }
#ifdef _OPENMP
  // The split whose busiest thread has the fewest tiles; rows on a tie (the threads
  // then share the packing of B instead of each packing all of A). Except where B is
  // read in place (at most 8 row tiles, so A is small): split by rows, each thread
  // would stream all of B, the bulk of the product's bytes, and from memory the two
  // streams of the same lines overlap no more than one; by columns each streams its
  // half. So columns there unless rows balance clearly better (by an eighth).
  // Measured (Zen 5, 2 threads, B cold, 64-96 x 256-1024 x 256-1024): 14-38 % faster
  // by columns, level with B in cache.
  const std::int64_t tiles_down = ceil_div(M, plan.kernel->mr);
  const std::int64_t tiles_across = ceil_div(N, plan.kernel->nr);
  const std::int64_t busiest_by_rows = ceil_div(tiles_down, nt) * tiles_across;
  const std::int64_t busiest_by_cols = tiles_down * ceil_div(tiles_across, nt);
  const bool by_rows = plan.b_in_place ? busiest_by_rows * 8 < busiest_by_cols * 7
                                       : busiest_by_rows <= busiest_by_cols;
  float* shared_packed_b = callers.b.data();
  float* shared_b_pairs = callers.b_pairs.data();
#pragma omp parallel num_threads(nt)
  {
    const Share me{omp_get_thread_num(), omp_get_num_threads()};
    if (by_rows) {
      run_split_by_rows(plan, shared_packed_b, shared_b_pairs, me);
    } else {
      const Block my_cols = tile_range(N, plan.kernel->nr, tiles_across, me);
      if (my_cols.size > 0) run_alone(plan, Block{0, M}, my_cols, thread_pack_buffers(plan));
    }
  }
#endif
}

// K == 0: the product is empty, so C is zero (or kept), then the epilogue.
void empty_product(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                   bool accumulate, const GemmEpilogue* epilogue) {
  if (!accumulate)
    for (std::int64_t i = 0; i < rows; ++i) std::fill(c + i * ldc, c + i * ldc + cols, 0.0f);
  if (epilogue != nullptr) apply_epilogue_tile(*epilogue, c, ldc, 0, 0, rows, cols);
}

// Row-major A is read where it lies, sparing the packing, only where packing would not
// pay for itself:
// - each packed A block is reused by every B micro-panel of the panel, so its copy is
//   amortised over N / nr tiles, while A read in place costs every tile some speed (six
//   strided streams instead of one contiguous one). Measured here (Zen 3, 256-1024 rows,
//   K = 784, interleaved runs): in place is 10-17 % faster at N = 64, 3-9 % at 128, even
//   at 256, and packing 3-8 % faster from N = 512 on. So A is read in place up to 16
//   micro-panels (N <= 256 with the AVX2 kernel), packed beyond.
// - rows a multiple of 4 KiB apart (1024 floats: a 784 -> 1024 layer's output, square
//   1024 and 2048 products) are always packed: the six rows a micro-kernel reads map to
//   one L1 set, and the rows of an A block to 1/16 of the L2's sets, where they evict
//   each other and the B panel.
// Both readings give the same bits: the micro-kernel does the same FMAs in the same order.
constexpr std::int64_t kInPlaceMaxPanels = 16;

// Rows a multiple of 4 KiB apart: read in place, a tile's rows map to one L1 set.
bool rows_share_l1_sets(std::int64_t row_stride) {
  constexpr std::int64_t kPageFloats = 4096 / sizeof(float);
  return row_stride % kPageFloats == 0;
}

bool read_a_in_place(const MicroKernel& kernel, const MatrixView& a, std::int64_t n) {
  if (kernel.run_rowmajor_a == nullptr || a.col_stride != 1 || a.ones_row) return false;
  if (rows_share_l1_sets(a.row_stride)) return false;
  return ceil_div(n, kernel.nr) <= kInPlaceMaxPanels;
}

// Row-major B is read where it lies (by kernels that can) when the product has so few
// rows that each packed B micro-panel would serve at most kInPlaceBMaxTiles row tiles:
// the copy costs a read and a write of every element of B, which those few tiles do not
// repay. Measured with the avx512 kernel on a Zen 5 core (2026-12-07, interleaved runs,
// best of 200): in place is 59 % faster at 12 rows (12 x 1024 x 784), 30 % at 24, 12-15 %
// at 64 and 96 (K and N of 128-1024, strides 4 KiB apart included), 4-22 % at 2 threads,
// where it also drops the barriers around the shared panel; from 128 rows on it is within
// a few per cent either way, and 7 % slower at 256 x 128 x 128, whose rows 512 bytes
// apart crowd a few L1 sets. Same bits either way: the same FMAs in the same order.
constexpr std::int64_t kInPlaceBMaxTiles = 8;

bool read_b_in_place(const MicroKernel& kernel, const MatrixView& b, std::int64_t m) {
  if (kernel.run_rowmajor_b == nullptr || kernel.pack_pairs != nullptr || b.col_stride != 1) return false;
  return ceil_div(m, kernel.mr) <= kInPlaceBMaxTiles;
}

// The registered kernel, or its shorter sibling (MicroKernel::shorter) where that pads
// M at least 5 % less: 64 rows are six 12-row tiles, 72 rows of FMAs, or eight 8-row
// tiles with none wasted. Measured with the avx512 kernels on a Zen 5 core (2026-12-08,
// interleaved, best of 60): the 8-row tile is 8-17 % faster on the products of a batch
// of 64 (K and N of 100-1024, either operand transposed), 5-9 % at 2 threads, level at
// 128 rows, and 2 % slower at 784, where the taller tile's fewer loads of B per FMA
// win. Except where B is read in place 4 KiB rows apart (N = 1024, 2048): its rows then
// share one L1 set and come from L2, and the shorter tile, with fewer FMAs per load of
// B, is 10-12 % slower than the taller one.
const MicroKernel& tile_for_rows(const MicroKernel& registered, const MatrixView& a, const MatrixView& b) {
  const MicroKernel* shorter = registered.shorter;
  if (shorter == nullptr) return registered;
  const std::int64_t tall_rows = round_up(a.rows, registered.mr);
  const std::int64_t short_rows = round_up(a.rows, shorter->mr);
  if ((tall_rows - short_rows) * 20 < tall_rows) return registered;
  if (read_b_in_place(*shorter, b, a.rows) && rows_share_l1_sets(b.row_stride)) return registered;
  return *shorter;
}

bool changes_nothing(const GemmEpilogue* epilogue) {
  if (epilogue == nullptr) return true;
  if (epilogue->kind == GemmEpilogue::Kind::adam_update) return false;
  if (epilogue->activation != Activation::identity) return false;
  return epilogue->kind == GemmEpilogue::Kind::times_activation_derivative ||
         epilogue->bias == nullptr;
}

void check_shapes(const MatrixView& a, const MatrixView& b, std::int64_t ldc) {
  if (b.ones_row)
    throw std::invalid_argument("gemm: only A may carry a ones row");
  if (a.rows < (a.ones_row ? 1 : 0) || a.cols < 0 || b.rows < 0 || b.cols < 0 || a.cols != b.rows)
    throw std::invalid_argument("gemm: cannot multiply " + std::to_string(a.rows) + "x" +
                                std::to_string(a.cols) + " by " + std::to_string(b.rows) +
                                "x" + std::to_string(b.cols));
  if (ldc < b.cols)
    throw std::invalid_argument("gemm: ldc " + std::to_string(ldc) + " < N " +
                                std::to_string(b.cols));
}

// The kernel a product of `precision`, N columns wide, runs with: the registry's
// active one for fp32 and for skinny products (which stay fp32, gankit/gemm.h), the
// bf16 kernel (or a clear error where this CPU has none) for the rest.
const MicroKernel& kernel_for(GemmPrecision precision, std::int64_t n) {
  if (precision == GemmPrecision::fp32 || gemm_is_skinny(n)) return gemm_detail::active_micro_kernel();
  require_bf16_kernel("gemm: precision bf16");
  return *gemm_detail::bf16_micro_kernel();
}

}  // namespace

void gemm(const MatrixView& a, const MatrixView& b, float* c, std::int64_t ldc,
          bool accumulate, const GemmEpilogue* epilogue, GemmPrecision precision) {
  check_shapes(a, b, ldc);
  const std::int64_t M = a.rows, N = b.cols, K = a.cols;
  const MicroKernel& registered = kernel_for(precision, N);
  if (M == 0 || N == 0) return;
  if (changes_nothing(epilogue)) epilogue = nullptr;
  if (K == 0) {
    empty_product(c, ldc, M, N, accumulate, epilogue);
    return;
  }

  if (gemm_detail::gemm_skinny(*registered.skinny, a, b, c, ldc, accumulate, epilogue)) return;

  // The blocking is the registered kernel's, for its sibling too: the same kc, so the
  // same sums, and mc a whole number of the sibling's tiles.
  const gemm_detail::Blocking& full = gemm_detail::blocking_for(registered).blocking;
  const MicroKernel& kernel = tile_for_rows(registered, a, b);
  const bool a_in_place = kernel.pack_pairs == nullptr && read_a_in_place(kernel, a, N);
  const bool fuse = epilogue != nullptr && kernel.fuses_epilogue && gemm_detail::fusable(*epilogue);
  const GemmPlan plan{&kernel, a, b, c, ldc, accumulate, epilogue,
                      std::min(round_up(full.mc, kernel.mr), round_up(M, kernel.mr)),
                      gemm_detail::balanced_depth(K, full.kc),
                      std::min(full.nc, round_up(N, kernel.nr)), a_in_place,
                      read_b_in_place(kernel, b, M), fuse};
  // A tile costs its FMAs plus a fixed part (packing, the store, the epilogue) worth
  // about eight k steps, which decides for the shallow products: a first layer with
  // K = 2 writes as much of C as a deep one and gains as much from a second thread.
  const std::int64_t tiles = ceil_div(M, kernel.mr) * ceil_div(N, kernel.nr);
  const double tile_cost = 2.0 * kernel.mr * kernel.nr * static_cast<double>(K + 8);
  run_blocked(plan, threads_for(tiles, tile_cost));
}

}  // namespace gankit
