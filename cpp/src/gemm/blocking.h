// The GEMM's cache blocking: which kc, mc and nc each micro-kernel runs with on this
// machine, derived once from the cache hierarchy (cpu/cache_info.h).
//
// The model (Low, Igual, Smith, Quintana-Orti, "Analytical modeling is enough for
// high-performance BLIS", ACM TOMS 43(2), 2016, section 4) keeps each operand in the
// cache level the loop order reuses it from, counting in cache ways because an LRU
// set-associative cache evicts by way, not by byte:
//   L1: the B micro-panel (kc x nr) is reused by every A micro-panel (mr x kc) that
//       streams past it: ways(B_r) + ways(A_r) <= W_L1 - 1, the one way left for the C
//       tile and the next A_r. kc is the largest multiple of 4 that fits. (The paper
//       solves this in closed form with A_r filling whole ways, which on an 8-way L1 with
//       a 6 x 16 tile leaves kc = 170; solving the inequality itself gives 320 there,
//       and 170 measured 5-8 % slower than 256 or 320 on a Zen 3 core.)
//   L2: the packed A block (mc x kc) is reused by every B micro-panel that streams
//       through: ways(A_c) + ways(B_r) <= W_L2 - 1; mc is the largest multiple of mr.
//   L3: the packed B panel (kc x nc) is reused by every A block: ways(B_c) + ways(A_c)
//       <= W_L3 - 1, counted in this core's share of a shared L3; nc the largest
//       multiple of nr.
//
// Only kc changes results: it decides where a dot product of length K is split into
// partial sums added into C. mc and nc only reorder independent tiles. So results are
// bitwise reproducible for a given micro-kernel and kc, both of which build_info()
// reports; GANKIT_GEMM_BLOCKING="kc=256" reproduces another machine's bits.
#pragma once
#include <cstdint>
#include <string>

#include "../cpu/cache_info.h"
#include "ukernel.h"

namespace gankit {
namespace gemm_detail {

// The model for a kernel with an mr x nr tile on `caches`. A level the model cannot use
// (unknown size or ways) keeps `fallback`'s value for what it decides.
Blocking model_blocking(const cpu_detail::CacheHierarchy& caches, int mr, int nr,
                        const Blocking& fallback);

struct ChosenBlocking {
  Blocking blocking;
  std::string source;  // "model", "kernel" (its own constants) and/or "GANKIT_GEMM_BLOCKING"
};

// What `kernel` runs with here: the model on this machine's caches (or the kernel's
// constants where it opts out or the caches are unknown), then any field that
// GANKIT_GEMM_BLOCKING ("kc=256,mc=144,nc=2048", any subset) sets. Computed once per
// kernel, thread-safe; a bad GANKIT_GEMM_BLOCKING only warns on stderr.
const ChosenBlocking& blocking_for(const MicroKernel& kernel);

// Parses a GANKIT_GEMM_BLOCKING value into `blocking` (fields it does not name are
// kept); false, with `error` saying why, for anything else. Rounds mc and nc up to
// multiples of mr and nr.
bool parse_blocking_override(const std::string& text, int mr, int nr, Blocking& blocking,
                             std::string& error);

// The depth of each kc block of a product of depth k: the k steps split into
// ceil(k / kc) blocks as equal as multiples of 4 allow, so no product ends on a sliver
// of a few steps (k = 784 with kc = 320: 264, 264, 256 rather than 320, 320, 144). The
// blocks depend on k and kc alone, never on the thread count.
std::int64_t balanced_depth(std::int64_t k, std::int64_t kc);

}  // namespace gemm_detail
}  // namespace gankit
