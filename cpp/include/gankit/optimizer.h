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

// Hyperparameters in double, as the user gave them: the kernels derive their float
// factors in double, so 1 - beta2 for beta2 = 0.9999 is 1e-4 to float precision rather
// than 1 - float(0.9999), which is 1.7e-4 relatively off.
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::adam;
  double lr = 2e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;  // SGD only
};

// Throws std::invalid_argument naming the field when a value is out of range.
void validate(const OptimizerConfig& config);

// Floats of optimizer state per parameter: Adam 2 (m, v), SGD 1 with momentum, else 0.
std::int64_t optimizer_state_per_param(const OptimizerConfig& config);

void sgd_step(float* params, const float* grads, float* velocity, std::int64_t n, double lr,
              double momentum, double weight_decay);

// step is the 1-based count of this update (for the bias corrections).
void adam_step(float* params, const float* grads, float* m, float* v, std::int64_t n,
               std::int64_t step, double lr, double beta1, double beta2, double eps,
               double weight_decay);

// One Adam step as float factors, derived once per step in double, and the update of a
// span of n parameters with them: what adam_step does, in pieces, so a weight gradient
// can be applied block by block while the GEMM that made it still has it in cache.
struct AdamFactors {
  float step_size;             // lr / (1 - beta1^t)
  float inv_sqrt_correction2;  // 1 / sqrt(1 - beta2^t)
  float beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay;
};
AdamFactors adam_factors(std::int64_t step, double lr, double beta1, double beta2, double eps,
                         double weight_decay);
void adam_span(const AdamFactors& f, float* params, const float* grads, float* m, float* v,
               std::int64_t n);

}  // namespace gankit
