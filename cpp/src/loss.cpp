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

// softplus(t) = log(1 + e^t) and sigmoid(t) from one exponential, e = e^-|t| <= 1, so
// neither overflows: softplus = max(t, 0) + log1p(e); sigmoid = 1/(1+e) or e/(1+e).
struct LogitTerms {
  double softplus;
  double sigmoid;
};

inline LogitTerms logit_terms(double t) {
  const double e = std::exp(-std::fabs(t));
  return {std::fmax(t, 0.0) + std::log1p(e), t >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e)};
}

}  // namespace

double discriminator_loss(const float* logits_real, std::int64_t n_real, const float* logits_fake,
                          std::int64_t n_fake, float* d_real, float* d_fake, double* mean_probs) {
  // Real: softplus(-l), d/dl = -sigmoid(-l), and D(x) = sigmoid(l) = 1 - sigmoid(-l).
  // Fake: softplus(l), d/dl = sigmoid(l).
  double real_sum = 0.0, real_prob = 0.0;
  for (std::int64_t i = 0; i < n_real; ++i) {
    const LogitTerms t = logit_terms(-static_cast<double>(logits_real[i]));
    real_sum += t.softplus;
    real_prob += 1.0 - t.sigmoid;
    if (d_real != nullptr) d_real[i] = static_cast<float>(-t.sigmoid / n_real);
  }
  double fake_sum = 0.0, fake_prob = 0.0;
  for (std::int64_t i = 0; i < n_fake; ++i) {
    const LogitTerms t = logit_terms(static_cast<double>(logits_fake[i]));
    fake_sum += t.softplus;
    fake_prob += t.sigmoid;
    if (d_fake != nullptr) d_fake[i] = static_cast<float>(t.sigmoid / n_fake);
  }
  if (mean_probs != nullptr) {
    mean_probs[0] = real_prob / n_real;
    mean_probs[1] = fake_prob / n_fake;
  }
  return real_sum / n_real + fake_sum / n_fake;
}

double generator_loss(const float* logits_fake, std::int64_t n, GeneratorLoss kind,
                      float* d_logits, double* mean_prob) {
  double sum = 0.0, prob = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double l = logits_fake[i];
    if (kind == GeneratorLoss::minimax) {
      // log(1 - sigmoid(l)) = -softplus(l); its gradient -sigmoid(l) vanishes as l -> -inf,
      // exactly when D confidently rejects the fakes: the saturation Goodfellow et al.
      // (2014) describe, and why they propose the non-saturating loss below.
      const LogitTerms t = logit_terms(l);
      sum -= t.softplus;
      prob += t.sigmoid;
      if (d_logits != nullptr) d_logits[i] = static_cast<float>(-t.sigmoid / n);
    } else {
      // -log sigmoid(l) = softplus(-l); gradient -sigmoid(-l) -> -1 as l -> -inf: strong
      // exactly when D rejects the fakes.
      const LogitTerms t = logit_terms(-l);
      sum += t.softplus;
      prob += 1.0 - t.sigmoid;
      if (d_logits != nullptr) d_logits[i] = static_cast<float>(-t.sigmoid / n);
    }
  }
  if (mean_prob != nullptr) *mean_prob = prob / n;
  return sum / n;
}

}  // namespace gankit
