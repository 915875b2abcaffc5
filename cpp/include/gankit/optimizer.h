// Optimizers as one flat loop over a network's contiguous parameter buffer, in place.
//
//   SGD (PyTorch semantics): g' = g + wd p;  v = mu v + g' (if mu > 0, else v = g');  p -= lr v
//   Adam (Kingma & Ba, L2 weight decay as in torch.optim.Adam):
//     g' = g + wd p;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
//     p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)        t = 1, 2, ...
//
// The learning rate of update t follows a schedule over the first S = schedule_steps
// updates, from lr to final_lr, with progress p = min(t - 1, S) / S:
//   constant: lr;   linear: lr + (final_lr - lr) p;   cosine: final_lr + (lr - final_lr) (1 + cos(pi p)) / 2
// and stays at final_lr after S. The rate is a function of t alone, so a network restored
// with its step count continues on the same schedule.
//
// A parameter average (Polyak averaging, for GAN generators Yazici et al., ICLR 2019):
//   avg = beta avg + (1 - beta) p,  beta = min(decay, (1 + t) / (10 + t)) after update t,
// the warm-up of TensorFlow's ExponentialMovingAverage, so early averages do not keep the
// initial weights for thousands of steps.
#pragma once
#include <cstdint>
#include <string>

namespace gankit {

enum class OptimizerKind { sgd = 0, adam = 1 };
enum class LrSchedule { constant = 0, linear = 1, cosine = 2 };

LrSchedule lr_schedule_from_name(const std::string& name);  // throws std::invalid_argument
const char* lr_schedule_name(LrSchedule schedule);

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
  LrSchedule schedule = LrSchedule::constant;
  std::int64_t schedule_steps = 0;  // S above; >= 1 unless constant
  double final_lr = 0.0;            // 0 <= final_lr <= lr
};

// The learning rate of the step-th update (1-based) under config's schedule.
double scheduled_lr(const OptimizerConfig& config, std::int64_t step);

// The averaging factor beta after update t (formula above); decay in (0, 1).
double average_decay_at(double decay, std::int64_t step);

// average = beta average + (1 - beta) params, element-wise over n floats.
void average_step(float* average, const float* params, std::int64_t n, double beta);

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
