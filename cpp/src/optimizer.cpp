// SGD and Adam as flat element-wise loops (formulas in optimizer.h). Each element is
// independent, so splitting the loop across threads cannot change any result.
#include "gankit/optimizer.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "gankit/threads.h"

namespace gankit {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

bool finite_nonneg(float x) { return std::isfinite(x) && x >= 0.0f; }

}  // namespace

void validate(const OptimizerConfig& c) {
  require(std::isfinite(c.lr) && c.lr > 0.0f,
          "lr: expected a finite number > 0, got " + std::to_string(c.lr));
  require(finite_nonneg(c.weight_decay),
          "weight_decay: expected a finite number >= 0, got " + std::to_string(c.weight_decay));
  if (c.kind == OptimizerKind::adam) {
    require(c.beta1 >= 0.0f && c.beta1 < 1.0f,
            "beta1: expected 0 <= beta1 < 1, got " + std::to_string(c.beta1));
    require(c.beta2 >= 0.0f && c.beta2 < 1.0f,
            "beta2: expected 0 <= beta2 < 1, got " + std::to_string(c.beta2));
    require(std::isfinite(c.eps) && c.eps > 0.0f,
            "eps: expected a finite number > 0, got " + std::to_string(c.eps));
  } else {
    require(c.momentum >= 0.0f && c.momentum < 1.0f,
            "momentum: expected 0 <= momentum < 1, got " + std::to_string(c.momentum));
  }
}

std::int64_t optimizer_state_per_param(const OptimizerConfig& c) {
  if (c.kind == OptimizerKind::adam) return 2;
  return c.momentum > 0.0f ? 1 : 0;
}

// Element-wise work is memory-bound: only very large networks gain from threads.
constexpr double kFlopsPerElement = 12.0;

void sgd_step(float* params, const float* grads, float* velocity, std::int64_t n, float lr,
              float momentum, float weight_decay) {
  const int nt = threads_for(n / 4096 + 1, 4096 * kFlopsPerElement);
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    float g = grads[i] + weight_decay * params[i];
    if (velocity != nullptr) {
      velocity[i] = momentum * velocity[i] + g;
      g = velocity[i];
    }
    params[i] -= lr * g;
  }
}

void adam_step(float* params, const float* grads, float* m, float* v, std::int64_t n,
               std::int64_t step, float lr, float beta1, float beta2, float eps,
               float weight_decay) {
  // Bias corrections once per step, in double, then applied as float factors.
  const double correction1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double correction2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const float step_size = static_cast<float>(lr / correction1);
  const float inv_sqrt_correction2 = static_cast<float>(1.0 / std::sqrt(correction2));
  const float one_minus_beta1 = 1.0f - beta1;
  const float one_minus_beta2 = 1.0f - beta2;
  const int nt = threads_for(n / 4096 + 1, 4096 * kFlopsPerElement);
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = grads[i] + weight_decay * params[i];
    m[i] = beta1 * m[i] + one_minus_beta1 * g;
    v[i] = beta2 * v[i] + one_minus_beta2 * (g * g);
    const float denom = std::sqrt(v[i]) * inv_sqrt_correction2 + eps;
    params[i] -= step_size * (m[i] / denom);
  }
}

}  // namespace gankit
