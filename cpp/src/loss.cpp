// GAN losses on logits (formulas in loss.h).
#include "gankit/loss.h"

#include <cmath>
#include <stdexcept>

namespace gankit {

GeneratorLoss generator_loss_from_name(const std::string& name) {
  if (name == "minimax" || name == "saturating") return GeneratorLoss::minimax;
  if (name == "non_saturating" || name == "non-saturating") return GeneratorLoss::non_saturating;
  throw std::invalid_argument("g_loss: expected 'minimax' or 'non_saturating', got '" + name +
                              "'");
}

const char* generator_loss_name(GeneratorLoss kind) {
  return kind == GeneratorLoss::minimax ? "minimax" : "non_saturating";
}

namespace {

// softplus(t) = log(1 + e^t) without overflow: e^-|t| <= 1 always.
inline double softplus(double t) { return std::fmax(t, 0.0) + std::log1p(std::exp(-std::fabs(t))); }

// sigmoid(t) with exp of a non-positive argument only.
inline double sigmoid(double t) {
  if (t >= 0.0) return 1.0 / (1.0 + std::exp(-t));
  const double e = std::exp(t);
  return e / (1.0 + e);
}

}  // namespace

double discriminator_loss(const float* logits_real, std::int64_t n_real, const float* logits_fake,
                          std::int64_t n_fake, float* d_real, float* d_fake) {
  // d/dl softplus(-l) = -sigmoid(-l);  d/dl softplus(l) = sigmoid(l)
  double real_sum = 0.0;
  for (std::int64_t i = 0; i < n_real; ++i) {
    const double l = logits_real[i];
    real_sum += softplus(-l);
    if (d_real != nullptr) d_real[i] = static_cast<float>(-sigmoid(-l) / n_real);
  }
  double fake_sum = 0.0;
  for (std::int64_t i = 0; i < n_fake; ++i) {
    const double l = logits_fake[i];
    fake_sum += softplus(l);
    if (d_fake != nullptr) d_fake[i] = static_cast<float>(sigmoid(l) / n_fake);
  }
  return real_sum / n_real + fake_sum / n_fake;
}

double generator_loss(const float* logits_fake, std::int64_t n, GeneratorLoss kind,
                      float* d_logits) {
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double l = logits_fake[i];
    if (kind == GeneratorLoss::minimax) {
      // log(1 - sigmoid(l)) = -softplus(l); its gradient -sigmoid(l) vanishes as l -> -inf,
      // exactly when D confidently rejects the fakes: the saturation the seed describes.
      sum -= softplus(l);
      if (d_logits != nullptr) d_logits[i] = static_cast<float>(-sigmoid(l) / n);
    } else {
      // -log sigmoid(l) = softplus(-l); gradient -sigmoid(-l) -> -1 as l -> -inf: strong
      // exactly when D rejects the fakes.
      sum += softplus(-l);
      if (d_logits != nullptr) d_logits[i] = static_cast<float>(-sigmoid(-l) / n);
    }
  }
  return sum / n;
}

double mean_sigmoid(const float* logits, std::int64_t n) {
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum += sigmoid(logits[i]);
  return sum / n;
}

}  // namespace gankit
