// What transparent huge pages give the training step: the C++ step of a throughput
// configuration with the core's large buffers (parameters, gradients, optimizer state,
// workspaces of 2 MiB or more; see aligned_buffer.h) on 4 KiB pages and on huge pages.
//
//   cmake -S cpp -B build-cpp -DGANKIT_BUILD_BENCH=ON && cmake --build build-cpp -j
//   ./build-cpp/gankit_huge_pages [threads [config [fp32|bf16]]]  # e.g. 2 mnist64
//
// Two GANs built alike in one process, one allocated with each setting, timed in 40
// alternating runs of 0.15 s, the best of each: alternating in one process keeps the
// drift of a shared host's load out of the ratio, which separate processes minutes
// apart do not. Only the buffers the GANs allocate differ; the per-thread packing
// buffers are shared.
#include <algorithm>
#include <cstdio>

#include "gankit/aligned_buffer.h"
#include "step_configs.h"

namespace {

using step_bench::Config;

void compare(const Config& c, int threads) {
  const bool saved = gankit::huge_pages();
  std::unique_ptr<step_bench::Step> steps[2];  // [0]: 4 KiB pages, [1]: huge pages
  for (int huge = 0; huge < 2; ++huge) {
    gankit::set_huge_pages(huge == 1);
    steps[huge] = std::make_unique<step_bench::Step>(c);
    for (int i = 0; i < 20; ++i) steps[huge]->iteration();  // workspaces sized here
  }
  gankit::set_huge_pages(saved);
  double best[2] = {1e30, 1e30};
  for (int run = 0; run < 40; ++run) {
    step_bench::Step& step = *steps[run % 2];
    for (int i = 0; i < 3; ++i) step.iteration();  // its state back in cache after the other's
    best[run % 2] = std::min(best[run % 2], step.time_run(0.15));
  }
  std::printf("%-9s %d thread(s): 4 KiB pages %8.1f it/s, huge pages %8.1f it/s: %.3fx\n", c.name,
              threads, 1.0 / best[0], 1.0 / best[1], best[0] / best[1]);
}

}  // namespace

int main(int argc, char** argv) { return step_bench::run_selected(argc, argv, compare); }
