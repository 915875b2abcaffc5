// The cache-blocking model and its overrides (see blocking.h).
#include "blocking.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tile_math.h"

namespace gankit {
namespace gemm_detail {

namespace {

constexpr std::int64_t kFloatBytes = sizeof(float);
constexpr std::int64_t kDepthStep = 4;  // the micro-kernels unroll k by 4
constexpr std::int64_t kMinDepth = 64, kMaxDepth = 4096;

// Ways of `level` that `bytes` of contiguous data occupy.
std::int64_t ways_of(std::int64_t bytes, std::int64_t way_bytes) { return ceil_div(bytes, way_bytes); }

// The largest multiple of `step` in [step, limit] with fits(value), or 0 when none.
template <typename Fits>
std::int64_t largest_fitting(std::int64_t step, std::int64_t limit, Fits fits) {
  for (std::int64_t value = limit / step * step; value >= step; value -= step)
    if (fits(value)) return value;
  return 0;
}

// L1: B_r (kc x nr) and A_r (mr x kc) in W - 1 ways.
std::int64_t model_kc(const cpu_detail::CacheLevel& l1, int mr, int nr) {
  const std::int64_t way = l1.way_bytes();
  return largest_fitting(kDepthStep, kMaxDepth, [&](std::int64_t kc) {
    return ways_of(kc * nr * kFloatBytes, way) + ways_of(kc * mr * kFloatBytes, way) <= l1.ways - 1;
  });
}

// L2: A_c (mc x kc) and B_r (kc x nr) in W - 1 ways.
std::int64_t model_mc(const cpu_detail::CacheLevel& l2, std::int64_t kc, int mr, int nr) {
  const std::int64_t way = l2.way_bytes();
  const std::int64_t b_ways = ways_of(kc * nr * kFloatBytes, way);
  return largest_fitting(mr, l2.size_bytes / (kc * kFloatBytes), [&](std::int64_t mc) {
    return ways_of(mc * kc * kFloatBytes, way) + b_ways <= l2.ways - 1;
  });
}

// L3, this core's share of it: B_c (kc x nc) and A_c (mc x kc) in W - 1 ways.
std::int64_t model_nc(const cpu_detail::CacheLevel& l3, std::int64_t kc, std::int64_t mc, int nr) {
  const std::int64_t share = l3.size_bytes / std::max(1, l3.shared_by);
  const std::int64_t way = share / l3.ways;
  if (way <= 0) return 0;
  const std::int64_t a_ways = ways_of(mc * kc * kFloatBytes, way);
  return largest_fitting(nr, share / (kc * kFloatBytes), [&](std::int64_t nc) {
    return ways_of(kc * nc * kFloatBytes, way) + a_ways <= l3.ways - 1;
  });
}

// GANKIT_GEMM_BLOCKING, read and checked once: empty when unset, or when it does not
// parse (then a warning says why, once, at load time).
const std::string& blocking_override() {
  static const std::string text = [] {
    const char* requested = std::getenv("GANKIT_GEMM_BLOCKING");
    if (requested == nullptr || *requested == '\0') return std::string();
    Blocking scratch{1, 1, 1};
    std::string error;
    if (parse_blocking_override(requested, 1, 1, scratch, error)) return std::string(requested);
    std::fprintf(stderr, "gankit: ignoring GANKIT_GEMM_BLOCKING=%s: %s\n", requested, error.c_str());
    return std::string();
  }();
  return text;
}

// Read at load, so a bad value warns when the module is imported.
const bool g_override_checked = (blocking_override(), true);

ChosenBlocking choose(const MicroKernel& kernel) {
  ChosenBlocking chosen{kernel.blocking, "kernel"};
  if (kernel.blocking_from_model && cpu_detail::cache_hierarchy().l1d.known()) {
    chosen.blocking = model_blocking(cpu_detail::cache_hierarchy(), kernel.mr, kernel.nr, kernel.blocking);
    chosen.source = "model";
  }
  std::string error;
  if (!blocking_override().empty() &&
      parse_blocking_override(blocking_override(), kernel.mr, kernel.nr, chosen.blocking, error))
    chosen.source += "+GANKIT_GEMM_BLOCKING";
  return chosen;
}

}  // namespace

Blocking model_blocking(const cpu_detail::CacheHierarchy& caches, int mr, int nr,
                        const Blocking& fallback) {
  Blocking blocking = fallback;
  if (!caches.l1d.known()) return blocking;
  const std::int64_t kc = model_kc(caches.l1d, mr, nr);
  if (kc < kMinDepth) return blocking;  // an L1 too small for the model: keep the constants
  blocking.kc = kc;
  if (caches.l2.known()) {
    const std::int64_t mc = model_mc(caches.l2, kc, mr, nr);
    if (mc > 0) blocking.mc = mc;
  }
  if (caches.l3.known()) {
    const std::int64_t nc = model_nc(caches.l3, kc, blocking.mc, nr);
    if (nc > 0) blocking.nc = nc;
  }
  return blocking;
}

bool parse_blocking_override(const std::string& text, int mr, int nr, Blocking& blocking,
                             std::string& error) {
  Blocking parsed = blocking;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    const std::size_t equals = item.find('=');
    const std::string key = item.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : item.substr(equals + 1);
    if (value.empty() || value.size() > 6 || value.find_first_not_of("0123456789") != std::string::npos) {
      error = "expected key=value items separated by commas, with kc, mc or nc a whole number "
              "of at most 6 digits, got '" + item + "'";
      return false;
    }
    const std::int64_t number = std::stoll(value);
    if (number < 1) {
      error = key + " must be at least 1, got " + value;
      return false;
    }
    if (key == "kc") parsed.kc = number;
    else if (key == "mc") parsed.mc = round_up(number, mr);
    else if (key == "nc") parsed.nc = round_up(number, nr);
    else {
      error = "unknown key '" + key + "' (expected kc, mc or nc)";
      return false;
    }
    pos = comma + 1;
  }
  blocking = parsed;
  return true;
}

std::int64_t balanced_depth(std::int64_t k, std::int64_t kc) {
  if (k <= kc) return k;
  const std::int64_t blocks = ceil_div(k, kc);
  return std::min(kc, round_up(ceil_div(k, blocks), kDepthStep));
}

const ChosenBlocking& blocking_for(const MicroKernel& kernel) {
  // One per descriptor, made on first use (thread-safe statics: no lock on the path of
  // every product, and none a fork could leave held).
  static const ChosenBlocking generic = choose(generic_micro_kernel());
  static const ChosenBlocking avx2 = choose(avx2_micro_kernel());
  static const ChosenBlocking avx512 = choose(avx512_micro_kernel());
  static const ChosenBlocking avx512_bf16 = choose(avx512_bf16_micro_kernel());
  if (&kernel == &avx2_micro_kernel()) return avx2;
  if (&kernel == &avx512_micro_kernel()) return avx512;
  if (&kernel == &avx512_bf16_micro_kernel()) return avx512_bf16;
  if (&kernel == &generic_micro_kernel()) return generic;
  throw std::logic_error(std::string("blocking_for: micro-kernel '") + kernel.name +
                         "' is not one of the registry's descriptors");
}

}  // namespace gemm_detail
}  // namespace gankit
