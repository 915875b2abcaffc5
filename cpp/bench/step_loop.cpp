// Iterations per second of the C++ training step alone, no Python: the throughput
// benchmark's four configurations (benchmarks/speed.py) run as d_step + g_step loops.
//
//   cmake -S cpp -B build-cpp -DGANKIT_BUILD_BENCH=ON && cmake --build build-cpp -j
//   ./build-cpp/gankit_step_loop [threads [config [fp32|bf16]]]   # e.g. 2 mnist256 bf16
//
// It uses only the core's public headers (gan.h, mlp.h, threads.h, through
// step_configs.h), so the same file builds against an older checkout's core too, to
// time a change before and after it (g++ -O2 -std=c++17 -fopenmp -I OLD/cpp/include
// step_loop.cpp OLD_BUILD/libgankit_core.a). Each figure is the best of 5 runs of 0.3 s
// after 20 warm-up iterations: best, because on a shared machine it is the run least
// disturbed by others; interleave before/after runs to compare.
#include <algorithm>
#include <cstdio>

#include "step_configs.h"

namespace {

using step_bench::Config;

void run(const Config& c, int threads) {
  step_bench::Step step(c);
  for (int i = 0; i < 20; ++i) step.iteration();
  double best = 1e30;
  for (int run = 0; run < 5; ++run) best = std::min(best, step.time_run(0.3));
  std::printf("%-9s %d thread(s): %9.1f us/iteration  %8.1f it/s  %6.1f GFLOP/s\n", c.name, threads,
              best * 1e6, 1.0 / best, step_bench::flops_per_iteration(c) / best * 1e-9);
}

}  // namespace

int main(int argc, char** argv) { return step_bench::run_selected(argc, argv, run); }
