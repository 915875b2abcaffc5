// Iterations per second of the C++ training step alone, no Python: the throughput
// benchmark's four configurations (benchmarks/speed.py) run as d_step + g_step loops.
//
//   cmake -S cpp -B build-cpp -DGANKIT_BUILD_BENCH=ON && cmake --build build-cpp -j
//   ./build-cpp/gankit_step_loop [threads [config]]      # e.g. 2 mnist256
//
// It uses only the core's public headers (gan.h, mlp.h, threads.h), which have not
// changed shape since the first commit, so the same file builds against an older
// checkout's core too; that is how the "before" column of the README's profile table
// was measured (g++ -O2 -std=c++17 -fopenmp -I OLD/cpp/include step_loop.cpp
// OLD_BUILD/libgankit_core.a). Each figure is the best of 5 runs of 0.3 s after 20
// warm-up iterations: best, because on a shared machine it is the run least disturbed
// by others; interleave before/after runs to compare.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gankit/gan.h"
#include "gankit/threads.h"

namespace {

using gankit::Activation;

struct Config {
  const char* name;
  std::vector<std::int64_t> generator, discriminator;
  std::int64_t batch;
  Activation generator_output;
};

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Minimal matmul FLOPs of one iteration, as benchmarks/speed.py counts them.
double flops_per_iteration(const Config& c) {
  auto sum = [](const std::vector<std::int64_t>& sizes) {  // Σ fan_in · fan_out
    double s = 0;
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) s += double(sizes[i]) * double(sizes[i + 1]);
    return s;
  };
  const double g = sum(c.generator), d = sum(c.discriminator);
  const double g1 = double(c.generator[0]) * double(c.generator[1]);  // first layers
  const double d1 = double(c.discriminator[0]) * double(c.discriminator[1]);
  return 2.0 * double(c.batch) * (4 * g - g1 + 8 * d - 2 * d1);
}

void run(const Config& c, int threads) {
  auto generator = std::make_shared<gankit::Mlp>(c.generator, Activation::leaky_relu, c.generator_output, 0.2f);
  auto discriminator = std::make_shared<gankit::Mlp>(c.discriminator, Activation::leaky_relu, Activation::identity, 0.2f);
  gankit::OptimizerConfig adam;
  adam.lr = 1e-4f;
  generator->configure_optimizer(adam);
  discriminator->configure_optimizer(adam);
  gankit::Gan gan(generator, discriminator, c.generator[0], gankit::GeneratorLoss::non_saturating,
                  gankit::NoiseKind::normal, 1);
  std::vector<float> real(c.batch * c.discriminator[0]);
  gankit::Rng rng(3);
  rng.fill_normal(real.data(), static_cast<std::int64_t>(real.size()));
  auto iteration = [&] {
    gan.d_step(real.data(), c.batch, nullptr, c.batch);
    gan.g_step(nullptr, c.batch);
  };
  for (int i = 0; i < 20; ++i) iteration();
  double best = 1e30;
  for (int run = 0; run < 5; ++run) {
    int count = 0;
    const double start = seconds_now();
    while (seconds_now() - start < 0.3) {
      iteration();
      ++count;
    }
    best = std::min(best, (seconds_now() - start) / count);
  }
  std::printf("%-9s %d thread(s): %9.1f us/iteration  %8.1f it/s  %6.1f GFLOP/s\n", c.name, threads,
              best * 1e6, 1.0 / best, flops_per_iteration(c) / best * 1e-9);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const std::string only = argc > 2 ? argv[2] : "";
  if (threads < 1) {
    std::fprintf(stderr, "usage: %s [threads >= 1 [toy2d|digits|mnist64|mnist256]]\n", argv[0]);
    return 2;
  }
  gankit::set_num_threads(threads);
  const std::vector<Config> configs = {
      {"toy2d", {2, 128, 128, 2}, {2, 128, 128, 1}, 256, Activation::identity},
      {"digits", {32, 128, 256, 64}, {64, 256, 128, 1}, 128, Activation::identity},
      {"mnist64", {100, 256, 512, 1024, 784}, {784, 512, 256, 1}, 64, Activation::tanh},
      {"mnist256", {100, 256, 512, 1024, 784}, {784, 512, 256, 1}, 256, Activation::tanh}};
  bool ran = false;
  for (const Config& c : configs) {
    if (!only.empty() && only != c.name) continue;
    run(c, threads);
    ran = true;
  }
  if (!ran) {
    std::fprintf(stderr, "unknown config '%s': expected toy2d, digits, mnist64 or mnist256\n", only.c_str());
    return 2;
  }
  return 0;
}
