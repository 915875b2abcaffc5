// What memory costs this machine, next to the FMA peak: how fast it streams data, and
// how fast one Adam step runs when its state is in cache and when it comes from memory.
//
//   cmake -S cpp -B build-cpp -DGANKIT_BUILD_BENCH=ON && cmake --build build-cpp
//   ./build-cpp/gankit_memory_bound [max_threads]          # default 2
//
// Why it exists: at the MNIST sizes a training iteration moves its Adam state (the
// parameters, m and v, each read and written: 24 bytes per parameter) and reads every
// weight matrix again for each forward and backward pass. Those phases are limited by
// memory bandwidth, which on a small VM grows far less with the number of cores than
// the FMA units do, so they set how far the iteration can scale. This program measures
// the numbers benchmarks/README.md's throughput discussion relies on:
//   - triad bandwidth, a[i] = b[i] + s * c[i] over three 64 MiB arrays (12 bytes per
//     element, not counting the write-allocate read of a);
//   - gankit::adam_step (the library's Adam, with its own split across threads) over
//     2,019,857 parameters, the size of the MNIST configurations' two networks together,
//     with a 64 MiB sweep between steps so the state comes from memory as it does in a
//     training step;
//   - and, for comparison, one core's adam_span over 16,384 parameters that stay in
//     L1/L2, where the loop is bound by its sqrt and division, not by memory.
// Each figure is the best of 7 runs.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gankit/optimizer.h"
#include "gankit/threads.h"
#include "step_configs.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

constexpr std::int64_t kInCacheParameters = 16384;
constexpr std::int64_t kTriadElements = std::int64_t{1} << 24;  // 64 MiB per float array
constexpr int kRuns = 7;

using step_bench::seconds_now;

// Weights and biases of a dense network of these layer sizes.
std::int64_t dense_parameters(const std::vector<std::int64_t>& sizes) {
  std::int64_t n = 0;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) n += (sizes[i] + 1) * sizes[i + 1];
  return n;
}

// Both networks of the MNIST configurations (2,019,857 parameters), from the
// configurations the step benchmarks run.
std::int64_t mnist_parameters() {
  for (const step_bench::Config& c : step_bench::configs())
    if (std::strcmp(c.name, "mnist256") == 0)
      return dense_parameters(c.generator) + dense_parameters(c.discriminator);
  return 0;
}
const std::int64_t kMnistParameters = mnist_parameters();

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

// Adam's hyperparameters for both measurements (those of the throughput benchmark).
constexpr double kLr = 1e-4, kBeta1 = 0.5, kBeta2 = 0.999, kEps = 1e-8;
constexpr std::int64_t kStep = 10;

// Best nanoseconds per parameter of one core's adam_span over a span that stays in cache.
double adam_in_cache_ns_per_parameter() {
  const std::int64_t n = kInCacheParameters;
  std::vector<float> params(n, 0.1f), grads(n, 0.01f), m(n, 0.0f), v(n, 0.0f);
  const gankit::AdamFactors factors = gankit::adam_factors(kStep, kLr, kBeta1, kBeta2, kEps, 0.0);
  const int steps = static_cast<int>(20000000 / n);
  double best = 1e30;
  for (int run = 0; run < kRuns; ++run) {
    const double start = seconds_now();
    for (int step = 0; step < steps; ++step)
      gankit::adam_span(factors, params.data(), grads.data(), m.data(), v.data(), n);
    best = std::min(best, (seconds_now() - start) / steps);
  }
  return best / static_cast<double>(n) * 1e9;
}

// Best nanoseconds per parameter of one adam_step over both MNIST networks on `threads`
// threads, after a 64 MiB sweep has evicted their state from every cache level.
double adam_from_memory_ns_per_parameter(int threads) {
  const std::int64_t n = kMnistParameters;
  std::vector<float> params(n, 0.1f), grads(n, 0.01f), m(n, 0.0f), v(n, 0.0f);
  std::vector<float> sweep(kTriadElements, 1.0f);
  gankit::set_num_threads(threads);
  double best = 1e30;
  for (int run = 0; run < kRuns; ++run) {
    split(kTriadElements, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) sweep[i] += 1.0f;
    });
    const double start = seconds_now();
    gankit::adam_step(params.data(), grads.data(), m.data(), v.data(), n, kStep, kLr, kBeta1,
                      kBeta2, kEps, 0.0);
    best = std::min(best, seconds_now() - start);
  }
  return best / static_cast<double>(n) * 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const int max_threads = argc > 1 ? std::atoi(argv[1]) : 2;
  if (max_threads < 1 || max_threads > gankit::kMaxThreads) {
    std::fprintf(stderr, "usage: %s [max_threads in 1..%d]\n", argv[0], gankit::kMaxThreads);
    return 2;
  }
  std::printf("Adam with its state in cache, one core: %.3f ns/param (bound by its sqrt and division)\n",
              adam_in_cache_ns_per_parameter());
  std::printf("threads | triad GB/s | Adam from memory ns/param (GB/s of state) | one update of both MNIST networks\n");
  for (int threads = 1; threads <= max_threads; ++threads) {
    const double triad = triad_gb_per_s(threads);
    const double from_memory = adam_from_memory_ns_per_parameter(threads);
    // 28 bytes per parameter cross the memory bus: params, m, v read and written, the gradient read.
    std::printf("%7d | %10.1f | %14.3f (%.1f GB/s) | %.2f ms\n", threads, triad, from_memory,
                28.0 / from_memory, from_memory * static_cast<double>(kMnistParameters) * 1e-6);
  }
  return 0;
}
