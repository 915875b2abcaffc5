// The throughput benchmark's four configurations (benchmarks/speed.py) as C++ training
// steps, shared by the step-loop benchmarks (step_loop.cpp, huge_pages.cpp).
//
// Uses only the core's public headers gan.h, mlp.h and threads.h, so step_loop.cpp
// also builds against an older checkout's core (see there).
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gankit/gan.h"
#include "gankit/threads.h"

namespace step_bench {

using gankit::Activation;

struct Config {
  const char* name;
  std::vector<std::int64_t> generator, discriminator;
  std::int64_t batch;
  Activation generator_output;
  gankit::GemmPrecision precision = gankit::GemmPrecision::fp32;  // both networks' products
};

inline const std::vector<Config>& configs() {
  static const std::vector<Config> all = {
      {"toy2d", {2, 128, 128, 2}, {2, 128, 128, 1}, 256, Activation::identity},
      {"digits", {32, 128, 256, 64}, {64, 256, 128, 1}, 128, Activation::identity},
      {"mnist64", {100, 256, 512, 1024, 784}, {784, 512, 256, 1}, 64, Activation::tanh},
      {"mnist256", {100, 256, 512, 1024, 784}, {784, 512, 256, 1}, 256, Activation::tanh}};
  return all;
}

inline double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Minimal matmul FLOPs of one iteration, as benchmarks/speed.py counts them.
inline double flops_per_iteration(const Config& c) {
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

// One GAN of a config (leaky ReLU 0.2, Adam lr 1e-4 on both networks) and its fixed
// real batch; an iteration is d_step then g_step, k = 1, as in the Python benchmark.
struct Step {
  std::unique_ptr<gankit::Gan> gan;
  std::vector<float> real;
  std::int64_t batch = 0;

  explicit Step(const Config& c) : real(c.batch * c.discriminator[0]), batch(c.batch) {
    auto generator = std::make_shared<gankit::Mlp>(c.generator, Activation::leaky_relu, c.generator_output, 0.2f);
    auto discriminator = std::make_shared<gankit::Mlp>(c.discriminator, Activation::leaky_relu, Activation::identity, 0.2f);
    generator->set_precision(c.precision);
    discriminator->set_precision(c.precision);
    gankit::OptimizerConfig adam;
    adam.lr = 1e-4f;
    generator->configure_optimizer(adam);
    discriminator->configure_optimizer(adam);
    gan = std::make_unique<gankit::Gan>(generator, discriminator, c.generator[0],
                                        gankit::GeneratorLoss::non_saturating, gankit::NoiseKind::normal, 1);
    gankit::Rng rng(3);
    rng.fill_normal(real.data(), static_cast<std::int64_t>(real.size()));
  }

  void iteration() {
    gan->d_step(real.data(), batch, nullptr, batch);
    gan->g_step(nullptr, batch);
  }

  // Seconds per iteration over one run of at least `seconds`.
  double time_run(double seconds) {
    int count = 0;
    const double start = seconds_now();
    while (seconds_now() - start < seconds) {
      iteration();
      ++count;
    }
    return (seconds_now() - start) / count;
  }
};

// The main() of a step benchmark, `program [threads >= 1 [config]]`: sets the thread
// count and calls each(config, threads) for the named config, or for all four.
template <typename Each>
int run_selected(int argc, char** argv, Each each) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const std::string only = argc > 2 ? argv[2] : "";
  const std::string precision = argc > 3 ? argv[3] : "fp32";
  if (threads < 1 || (precision != "fp32" && precision != "bf16")) {
    std::fprintf(stderr, "usage: %s [threads >= 1 [toy2d|digits|mnist64|mnist256 [fp32|bf16]]]\n", argv[0]);
    return 2;
  }
  gankit::set_num_threads(threads);
  bool ran = false;
  for (const Config& c : configs()) {
    if (!only.empty() && only != c.name) continue;
    Config chosen = c;
    if (precision == "bf16") chosen.precision = gankit::GemmPrecision::bf16;
    each(chosen, threads);
    ran = true;
  }
  if (!ran) {
    std::fprintf(stderr, "unknown config '%s': expected toy2d, digits, mnist64 or mnist256\n", only.c_str());
    return 2;
  }
  return 0;
}

}  // namespace step_bench
