// SGD and Adam as flat element-wise loops (formulas in optimizer.h), vectorised for
// the CPU's widest ISA (GANKIT_CLONES, cpu/isa.h). Each element is independent, so
// neither the vector width nor the split across threads can change any result.
#include "gankit/optimizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "gankit/threads.h"
#include "cpu/isa.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gankit {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

bool finite_nonneg(double x) { return std::isfinite(x) && x >= 0.0; }

}  // namespace

LrSchedule lr_schedule_from_name(const std::string& name) {
  if (name == "constant") return LrSchedule::constant;
  if (name == "linear") return LrSchedule::linear;
  if (name == "cosine") return LrSchedule::cosine;
  throw std::invalid_argument("schedule: expected 'constant', 'linear' or 'cosine', got '" + name + "'");
}

const char* lr_schedule_name(LrSchedule schedule) {
  switch (schedule) {
    case LrSchedule::linear: return "linear";
    case LrSchedule::cosine: return "cosine";
    default: return "constant";
  }
}

void validate(const OptimizerConfig& c) {
  require(std::isfinite(c.lr) && c.lr > 0.0,
          "lr: expected a finite number > 0, got " + std::to_string(c.lr));
  require(finite_nonneg(c.weight_decay),
          "weight_decay: expected a finite number >= 0, got " + std::to_string(c.weight_decay));
  if (c.schedule != LrSchedule::constant) {
    require(c.schedule_steps >= 1, "schedule_steps: expected an integer >= 1 with schedule '" +
                                       std::string(lr_schedule_name(c.schedule)) + "', got " +
                                       std::to_string(c.schedule_steps));
    require(std::isfinite(c.final_lr) && c.final_lr >= 0.0 && c.final_lr <= c.lr,
            "final_lr: expected a number in [0, lr = " + std::to_string(c.lr) + "], got " +
                std::to_string(c.final_lr));
  }
  if (c.kind == OptimizerKind::adam) {
    require(c.beta1 >= 0.0 && c.beta1 < 1.0,
            "beta1: expected 0 <= beta1 < 1, got " + std::to_string(c.beta1));
    require(c.beta2 >= 0.0 && c.beta2 < 1.0,
            "beta2: expected 0 <= beta2 < 1, got " + std::to_string(c.beta2));
    require(std::isfinite(c.eps) && c.eps > 0.0,
            "eps: expected a finite number > 0, got " + std::to_string(c.eps));
  } else {
    require(c.momentum >= 0.0 && c.momentum < 1.0,
            "momentum: expected 0 <= momentum < 1, got " + std::to_string(c.momentum));
  }
}

double scheduled_lr(const OptimizerConfig& c, std::int64_t step) {
  if (c.schedule == LrSchedule::constant) return c.lr;
  const double done = static_cast<double>(std::min<std::int64_t>(std::max<std::int64_t>(step - 1, 0),
                                                                  c.schedule_steps));
  const double progress = done / static_cast<double>(c.schedule_steps);
  if (c.schedule == LrSchedule::linear) return c.lr + (c.final_lr - c.lr) * progress;
  const double pi = 3.14159265358979323846;
  return c.final_lr + (c.lr - c.final_lr) * 0.5 * (1.0 + std::cos(pi * progress));
}

double average_decay_at(double decay, std::int64_t step) {
  const double t = static_cast<double>(std::max<std::int64_t>(step, 0));
  return std::min(decay, (1.0 + t) / (10.0 + t));
}

std::int64_t optimizer_state_per_param(const OptimizerConfig& c) {
  if (c.kind == OptimizerKind::adam) return 2;
  return c.momentum > 0.0 ? 1 : 0;
}

namespace {

// Element-wise and memory-bound, but still worth a second core past a few thousand
// parameters: the split is by index range, so no element depends on the thread count.
constexpr std::int64_t kElementsPerChunk = 16384;
constexpr double kFlopsPerElement = 12.0;

int threads_for_elements(std::int64_t n) {
  return threads_for((n + kElementsPerChunk - 1) / kElementsPerChunk,
                     kElementsPerChunk * kFlopsPerElement);
}

// [begin, end) of n split into `parts` contiguous ranges, range `part`.
std::pair<std::int64_t, std::int64_t> range_of(std::int64_t n, int part, int parts) {
  const std::int64_t chunks = (n + kElementsPerChunk - 1) / kElementsPerChunk;
  const std::int64_t first = chunks * part / parts, last = chunks * (part + 1) / parts;
  return {std::min(n, first * kElementsPerChunk), std::min(n, last * kElementsPerChunk)};
}

struct SgdRange {
  float* params;
  const float* grads;
  float* velocity;
  float lr, momentum, weight_decay;
};

GANKIT_CLONES void sgd_range(const SgdRange& a, std::int64_t begin, std::int64_t end) {
  float* __restrict p = a.params;
  const float* __restrict g = a.grads;
  if (a.velocity == nullptr) {
    for (std::int64_t i = begin; i < end; ++i) p[i] -= a.lr * (g[i] + a.weight_decay * p[i]);
    return;
  }
  float* __restrict v = a.velocity;
  for (std::int64_t i = begin; i < end; ++i) {
    v[i] = a.momentum * v[i] + (g[i] + a.weight_decay * p[i]);
    p[i] -= a.lr * v[i];
  }
}

GANKIT_CLONES void average_range(float* __restrict average, const float* __restrict params,
                                 float keep, float take, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) average[i] = keep * average[i] + take * params[i];
}

}  // namespace

GANKIT_CLONES void adam_span(const AdamFactors& f, float* __restrict params,
                             const float* __restrict grads, float* __restrict m,
                             float* __restrict v, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = grads[i] + f.weight_decay * params[i];
    m[i] = f.beta1 * m[i] + f.one_minus_beta1 * g;
    v[i] = f.beta2 * v[i] + f.one_minus_beta2 * (g * g);
    const float denom = std::sqrt(v[i]) * f.inv_sqrt_correction2 + f.eps;
    params[i] -= f.step_size * (m[i] / denom);
  }
}

AdamFactors adam_factors(std::int64_t step, double lr, double beta1, double beta2, double eps,
                         double weight_decay) {
  const double correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  return AdamFactors{static_cast<float>(lr / correction1),
                     static_cast<float>(1.0 / std::sqrt(correction2)),
                     static_cast<float>(beta1),
                     static_cast<float>(beta2),
                     static_cast<float>(1.0 - beta1),
                     static_cast<float>(1.0 - beta2),
                     static_cast<float>(eps),
                     static_cast<float>(weight_decay)};
}

namespace {

// Runs body(begin, end) over [0, n), split across threads when it pays.
template <typename Body>
void for_ranges(std::int64_t n, Body body) {
  const int nt = threads_for_elements(n);
  if (nt <= 1) {
    body(0, n);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
#ifdef _OPENMP
    const auto [begin, end] = range_of(n, omp_get_thread_num(), omp_get_num_threads());
    body(begin, end);
#endif
  }
}

}  // namespace

void sgd_step(float* params, const float* grads, float* velocity, std::int64_t n, double lr,
              double momentum, double weight_decay) {
  const SgdRange args{params, grads, velocity, static_cast<float>(lr), static_cast<float>(momentum),
                      static_cast<float>(weight_decay)};
  for_ranges(n, [&](std::int64_t begin, std::int64_t end) { sgd_range(args, begin, end); });
}

void adam_step(float* params, const float* grads, float* m, float* v, std::int64_t n,
               std::int64_t step, double lr, double beta1, double beta2, double eps,
               double weight_decay) {
  // Every factor once per step, in double, then applied as a float.
  const AdamFactors f = adam_factors(step, lr, beta1, beta2, eps, weight_decay);
  for_ranges(n, [&](std::int64_t begin, std::int64_t end) {
    adam_span(f, params + begin, grads + begin, m + begin, v + begin, end - begin);
  });
}

void average_step(float* average, const float* params, std::int64_t n, double beta) {
  const float keep = static_cast<float>(beta), take = static_cast<float>(1.0 - beta);
  for_ranges(n, [&](std::int64_t begin, std::int64_t end) {
    average_range(average, params, keep, take, begin, end);
  });
}

}  // namespace gankit
