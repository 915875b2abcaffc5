// Optimizers as one flat loop over a network's contiguous parameter buffer, in place.
//
//   SGD (PyTorch semantics): g' = g + wd p;  v = mu v + g' (if mu > 0, else v = g');  p -= lr v
//   Adam (Kingma & Ba, L2 weight decay as in torch.optim.Adam):
//     g' = g + wd p;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
//     p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)        t = 1, 2, ...
#pragma once
#include <cstdint>

namespace gankit {

enum class OptimizerKind { sgd = 0, adam = 1 };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::adam;
  float lr = 2e-4f;
  float beta1 = 0.5f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;  // SGD only
};

// Throws std::invalid_argument naming the field when a value is out of range.
void validate(const OptimizerConfig& config);

// Floats of optimizer state per parameter: Adam 2 (m, v), SGD 1 with momentum, else 0.
std::int64_t optimizer_state_per_param(const OptimizerConfig& config);

void sgd_step(float* params, const float* grads, float* velocity, std::int64_t n, float lr,
              float momentum, float weight_decay);

// step is the 1-based count of this update (for the bias corrections).
void adam_step(float* params, const float* grads, float* m, float* v, std::int64_t n,
               std::int64_t step, float lr, float beta1, float beta2, float eps,
               float weight_decay);

}  // namespace gankit
