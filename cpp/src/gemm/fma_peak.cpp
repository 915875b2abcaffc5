// The single-core float32 FMA peak, measured rather than looked up: a register-only
// loop of independent FMA chains in the widest ISA this CPU runs. Benchmarks divide by
// it to report a GEMM as a fraction of what the core can do.
// It stays in gemm/, not cpu/, because it is the GEMM's yardstick, declared in gemm.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

#include "../cpu/cpu_features.h"
#include "../cpu/isa.h"
#include "gankit/gemm.h"

#if GANKIT_X86
#include <immintrin.h>
#endif

namespace gankit {

namespace {

// Independent accumulators: must cover FMA latency x FMAs per cycle (4 x 2 for 256-bit
// on Zen 4 and Intel cores); 12 leaves slack and still fits 16 ymm registers.
constexpr int kChains = 12;
// acc = acc * kScale + kShift converges to 1, so values never overflow or go subnormal.
constexpr float kScale = 0.999999f;
constexpr float kShift = 1.0e-6f;

// Each batch does `steps` x kChains FMAs of one register width; returns a value that
// depends on all of them, so the compiler cannot drop any.
using FmaBatch = float (*)(std::int64_t steps);

#if GANKIT_X86
GANKIT_TARGET_AVX512 float fma_batch_avx512(std::int64_t steps) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + 0.01f * c);
  const __m512 scale = _mm512_set1_ps(kScale);
  const __m512 shift = _mm512_set1_ps(kShift);
  for (std::int64_t s = 0; s < steps; ++s)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], scale, shift);
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float total = 0.0f;
  for (float lane : lanes) total += lane;
  return total;
}

GANKIT_TARGET_AVX2 float fma_batch_avx2(std::int64_t steps) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + 0.01f * c);
  const __m256 scale = _mm256_set1_ps(kScale);
  const __m256 shift = _mm256_set1_ps(kShift);
  for (std::int64_t s = 0; s < steps; ++s)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], scale, shift);
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0.0f;
  for (float lane : lanes) total += lane;
  return total;
}
#endif

// Portable: 4-lane rows of std::fma, which compilers map to the vector FMA where the
// baseline ISA has one (aarch64); elsewhere this measures the library call.
constexpr int kGenericLanes = 4;
float fma_batch_generic(std::int64_t steps) {
  float acc[kChains][kGenericLanes];
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < kGenericLanes; ++l) acc[c][l] = 1.0f + 0.01f * c + 0.001f * l;
  for (std::int64_t s = 0; s < steps; ++s)
    for (int c = 0; c < kChains; ++c)
      for (int l = 0; l < kGenericLanes; ++l) acc[c][l] = std::fma(acc[c][l], kScale, kShift);
  float total = 0.0f;
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < kGenericLanes; ++l) total += acc[c][l];
  return total;
}

struct FmaLoop {
  FmaBatch batch;
  int lanes;
};

FmaLoop widest_fma_loop() {
#if GANKIT_X86
  if (cpu_detail::has_avx512f()) return {fma_batch_avx512, 16};
  if (cpu_detail::has_avx2_fma()) return {fma_batch_avx2, 8};
#endif
  return {fma_batch_generic, kGenericLanes};
}

}  // namespace

// Batches of about a millisecond, repeated for `seconds`; the best batch is reported,
// since a slower one was interrupted (by the OS, or a clock ramping up), not the peak.
double measure_fma_peak_gflops(double seconds) {
  using Clock = std::chrono::steady_clock;
  const FmaLoop loop = widest_fma_loop();
  constexpr std::int64_t kSteps = 1 << 18;
  const double flops_per_batch = 2.0 * loop.lanes * kChains * static_cast<double>(kSteps);
  volatile float sink = 0.0f;
  double best = 0.0;
  const Clock::time_point begin = Clock::now();
  for (int batch = 0;; ++batch) {
    const Clock::time_point start = Clock::now();
    sink = sink + loop.batch(kSteps);
    const std::chrono::duration<double> took = Clock::now() - start;
    if (took.count() > 0.0) best = std::max(best, flops_per_batch / took.count());
    const std::chrono::duration<double> total = Clock::now() - begin;
    if (batch >= 2 && total.count() >= seconds) break;
  }
  return best * 1e-9;
}

}  // namespace gankit
