// What memory costs this machine, next to the FMA peak: how fast it streams data, and
// how fast one Adam step runs when its state is in cache and when it comes from memory.
//
//   cmake -S cpp -B build-cpp -DGANKIT_BUILD_BENCH=ON && cmake --build build-cpp
//   ./build-cpp/gankit_memory_bound [max_threads]          # default 2
//
// Why it exists: at the MNIST sizes a training iteration moves its Adam state (the
// parameters, m and v, each read and written: 24 bytes per parameter) and reads every
// weight matrix again for each forward and backward pass. Those phases are limited by
// memory bandwidth, which (unlike the FMA units) does not grow with the number of cores
// on a small VM, so they set how far the iteration can scale. This program measures
// both numbers the README's throughput discussion relies on:
//   - triad bandwidth, a[i] = b[i] + s * c[i] over three 64 MiB arrays (12 bytes per
//     element, not counting the write-allocate read of a);
//   - adam_span (the library's own Adam loop) over 2,019,857 parameters, the size of the
//     MNIST configurations' two networks together, with a 64 MiB sweep between steps so
//     the state comes from memory as it does in a training step, and over 16,384
//     parameters that stay in L1/L2 (where the loop is bound by its sqrt and division).
// Each figure is the best of 7 runs, threads splitting the range as the library does.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "gankit/optimizer.h"
#include "gankit/threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

constexpr std::int64_t kMnistParameters = 1486352 + 533505;  // G 100-256-512-1024-784, D 784-512-256-1
constexpr std::int64_t kInCacheParameters = 16384;
constexpr std::int64_t kTriadElements = std::int64_t{1} << 24;  // 64 MiB per float array
constexpr int kRuns = 7;

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs body(begin, end) on `threads` threads, each a contiguous share of [0, n).
template <typename Body>
void split(std::int64_t n, int threads, Body body) {
#pragma omp parallel num_threads(threads)
  {
#ifdef _OPENMP
    const std::int64_t part = omp_get_thread_num(), parts = omp_get_num_threads();
#else
    const std::int64_t part = 0, parts = 1;
#endif
    body(n * part / parts, n * (part + 1) / parts);
  }
}

double triad_gb_per_s(int threads) {
  std::vector<float> a(kTriadElements, 1.0f), b(kTriadElements, 2.0f), c(kTriadElements, 3.0f);
  double best = 1e30;
  for (int run = 0; run < kRuns; ++run) {
    const double start = seconds_now();
    split(kTriadElements, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) a[i] = b[i] + 0.5f * c[i];
    });
    best = std::min(best, seconds_now() - start);
  }
  if (a[kTriadElements / 2] != 3.5f) std::printf("unexpected triad result\n");
  return 12.0 * static_cast<double>(kTriadElements) / best * 1e-9;
}

// Best nanoseconds per parameter of one Adam step over n parameters; with `from_memory`
// a 64 MiB sweep before each step evicts the state from every cache level.
double adam_ns_per_parameter(std::int64_t n, int threads, bool from_memory) {
  std::vector<float> params(n, 0.1f), grads(n, 0.01f), m(n, 0.0f), v(n, 0.0f);
  std::vector<float> sweep(from_memory ? kTriadElements : 0, 1.0f);
  const gankit::AdamFactors factors = gankit::adam_factors(10, 1e-4, 0.5, 0.999, 1e-8, 0.0);
  const int steps = from_memory ? 1 : static_cast<int>(std::max<std::int64_t>(1, 20000000 / n));
  double best = 1e30;
  for (int run = 0; run < kRuns; ++run) {
    if (from_memory) {
      split(kTriadElements, threads, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) sweep[i] += 1.0f;
      });
    }
    const double start = seconds_now();
    for (int step = 0; step < steps; ++step) {
      split(n, threads, [&](std::int64_t begin, std::int64_t end) {
        gankit::adam_span(factors, params.data() + begin, grads.data() + begin, m.data() + begin,
                          v.data() + begin, end - begin);
      });
    }
    best = std::min(best, (seconds_now() - start) / steps);
  }
  return best / static_cast<double>(n) * 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const int max_threads = argc > 1 ? std::atoi(argv[1]) : 2;
  if (max_threads < 1 || max_threads > 1024) {
    std::fprintf(stderr, "usage: %s [max_threads >= 1]\n", argv[0]);
    return 2;
  }
  std::printf("threads | triad GB/s | Adam in cache ns/param | Adam from memory ns/param (GB/s of state)\n");
  for (int threads = 1; threads <= max_threads; ++threads) {
    const double triad = triad_gb_per_s(threads);
    const double in_cache = adam_ns_per_parameter(kInCacheParameters, threads, false);
    const double from_memory = adam_ns_per_parameter(kMnistParameters, threads, true);
    // 28 bytes per parameter cross the memory bus: params, m, v read and written, the gradient read.
    std::printf("%7d | %10.1f | %22.3f | %14.3f (%.1f GB/s)\n", threads, triad, in_cache, from_memory,
                28.0 / from_memory);
  }
  const double one_step_ms = adam_ns_per_parameter(kMnistParameters, max_threads, true) *
                             static_cast<double>(kMnistParameters) * 1e-6;
  std::printf("Adam over both MNIST networks (%lld parameters) from memory, %d thread(s): %.2f ms per iteration\n",
              static_cast<long long>(kMnistParameters), max_threads, one_step_ms);
  return 0;
}
