// Internal to the GEMM: the micro-kernel contract and the registry of kernels.
//
// A micro-kernel multiplies one packed MR x k sliver of A by one packed k x NR sliver
// of B into an MR x NR tile of C, keeping the whole tile in registers. Everything else
// (blocking, packing, threads, epilogue) is the framework's job in gemm.cpp, so a new
// ISA costs one function and one descriptor. The x86 kernels are built for their ISA
// with the target attributes of cpu/isa.h and run where cpu/cpu_features.h says they
// can.
#pragma once
#include <cstdint>

#include "gankit/gemm.h"
#include "pack.h"

namespace gankit {
namespace gemm_detail {

struct SkinnyKernels;  // skinny.h

// What a micro-kernel may apply to its tile in registers before the one store (see
// GemmEpilogue): a forward pass's bias and piecewise-linear activation (identity,
// relu, leaky_relu), or a backward pass's activation derivative (any activation).
// Pointers are already offset to the tile: bias to its first column, y to its corner.
struct TileEpilogue {
  GemmEpilogue::Kind kind;
  const float* bias;
  Activation activation;
  float slope;
  const float* y;
  std::int64_t ldy;
};

// True when a kernel with fuses_epilogue can apply `e` in registers.
inline bool fusable(const GemmEpilogue& e) {
  switch (e.kind) {
    case GemmEpilogue::Kind::times_activation_derivative: return true;
    case GemmEpilogue::Kind::bias_activation:
      return e.activation != Activation::tanh && e.activation != Activation::sigmoid;
    case GemmEpilogue::Kind::adam_update: return false;  // memory-bound: per block
  }
  return false;
}

// c[i * ldc + j] (= or +=) sum_p A(i, p) * b[p * NR + j], then the epilogue if given,
//   for i < m <= MR, j < n <= NR, p < k (k >= 1).
// A, packed (run):  a[p * MR + i], an MR-tall micro-panel (rows >= m zero-padded); lda unused.
// A, in place (run_rowmajor_a): a[i * lda + p], rows >= m never read.
// b: NR-wide packed micro-panel, k rows of NR floats (columns >= n zero-padded).
// accumulate == false stores without reading c (c may hold garbage or NaN).
// Elements of c outside the m x n corner are neither read nor written.
using MicroKernelFn = void (*)(std::int64_t k, const float* a, std::int64_t lda, const float* b,
                               float* c, std::int64_t ldc, int m, int n, bool accumulate,
                               const TileEpilogue* epilogue);

// The same product with B read in place (run_rowmajor_b, run_rowmajor_ab): b[p * ldb + j],
// row-major B at the tile's corner, columns >= n never read (masked loads stand in for
// the packed panel's zero padding).
using InPlaceBKernelFn = void (*)(std::int64_t k, const float* a, std::int64_t lda, const float* b,
                                  std::int64_t ldb, float* c, std::int64_t ldc, int m, int n,
                                  bool accumulate, const TileEpilogue* epilogue);

// Cache blocking for one kernel's register tile (see gemm.cpp for the roles, and
// blocking.h for how it is derived from the caches):
// kc: depth of one packed panel, so an A and a B micro-panel share L1;
// mc: rows of the packed A block kept in L2 (a multiple of mr);
// nc: columns of the packed B panel kept in L3 (a multiple of nr).
// For a kernel whose operands are bfloat16 (MicroKernel::pack_pairs): micro-panels
// [first, last) of fp32 panels as pack_block wrote them (width rows, depth steps each),
// rounded to bf16 two depth steps to a 32-bit slot, which is the fp32 layout at depth
// ceil(depth / 2):
//   pairs[q * width * slots + t * width + r] = bf16(X(r, 2t)) | bf16(X(r, 2t + 1)) << 16
// (a zero in the upper half of the last slot when depth is odd).
using PairPackFn = void (*)(const float* panels, int width, std::int64_t depth,
                            std::int64_t first, std::int64_t last, float* pairs);

// Optional, for a bf16 kernel: a block of X (as pack_block takes it) rounded straight
// from memory into the slots pack_pairs would make of its fp32 panels, the same bits,
// sparing the fp32 copy and its second pass. Returns false, having written nothing, for
// a layout it does not take; the framework then packs fp32 and rounds.
using DirectPairPackFn = bool (*)(const PackSource& x, int width, float* pairs, Share share);

struct Blocking {
  std::int64_t mc;
  std::int64_t kc;
  std::int64_t nc;
};

struct MicroKernel {
  const char* name;
  int mr;
  int nr;
  MicroKernelFn run;       // null where the file was built for another architecture
  bool (*cpu_supports)();  // true when this CPU can execute `run` (cpu/cpu_features.h)
  Blocking blocking;  // its own constants: where it opts out of the model, or caches are unknown
  const SkinnyKernels* skinny;  // the loops for products at most kSkinnyMaxN wide
  // Optional: A read in place when it is row-major (no packing; null: always pack),
  // and whether `run`/`run_rowmajor_a` apply a fusable epilogue themselves (else the
  // framework applies it to the stored tile).
  MicroKernelFn run_rowmajor_a;
  bool fuses_epilogue;
  // True: run with the cache model's blocking (blocking.h); false: with `blocking`,
  // where a measurement on the kernel's own CPUs beat the model.
  bool blocking_from_model;
  // Null for fp32 kernels. Set: the kernel multiplies bfloat16 operands with fp32
  // accumulation, reading panels this function rounded, and its `k` counts 32-bit slots
  // of two depth steps (gemm(..., GemmPrecision::bf16) runs it).
  PairPackFn pack_pairs = nullptr;
  // Optional (null: B always packed): B read in place where it is row-major, with A
  // packed (run_rowmajor_b) or A in place too (run_rowmajor_ab). For products of few
  // rows, whose packed B panel would be reused by too few tiles to repay its copy.
  InPlaceBKernelFn run_rowmajor_b = nullptr;
  InPlaceBKernelFn run_rowmajor_ab = nullptr;
  // Optional: a sibling with a shorter register tile (fewer rows, the same nr, the same
  // blocking), which gemm() runs on a product whose rows it pads less (tile_for_rows
  // in gemm.cpp). Each element of C still gets the same FMAs in the same order, so the
  // bits do not change with the tile.
  const MicroKernel* shorter = nullptr;
  // Optional, with pack_pairs: see DirectPairPackFn.
  DirectPairPackFn pack_pairs_direct = nullptr;
};

// One descriptor per ukernel_*.cpp. Always defined, so the registry needs no #ifdefs;
// on a foreign architecture the descriptor reports itself unsupported.
const MicroKernel& generic_micro_kernel();
const MicroKernel& avx2_micro_kernel();
const MicroKernel& avx512_micro_kernel();
const MicroKernel& avx512_bf16_micro_kernel();

// The kernel gemm() uses now (kernel_registry.cpp): chosen once at start-up (the best
// supported, or the GANKIT_GEMM_KERNEL override), changed by gemm_select_kernel().
// Thread-safe; a gemm call reads it once, so a concurrent switch never mixes two
// kernels in one product.
const MicroKernel& active_micro_kernel();

// The kernel for GemmPrecision::bf16 products, or null when this CPU has none (no
// AVX512-BF16). Chosen once; GANKIT_GEMM_KERNEL does not change it.
const MicroKernel* bf16_micro_kernel();

}  // namespace gemm_detail
}  // namespace gankit
