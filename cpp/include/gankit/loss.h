// The GAN losses on logits l (D(x) = sigmoid(l)), in the numerically stable form
// log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l), with
// softplus(t) = max(t, 0) + log1p(exp(-|t|)): finite for any finite logit.
//
//   discriminator:  d_loss = mean softplus(-l_real) + mean softplus(l_fake)
//                   (the objective E log D(x) + E log(1 - D(G(z))) of Goodfellow et al.,
//                   2014, "Generative Adversarial Nets", negated; at its equilibrium
//                   D = 1/2 everywhere and d_loss = 2 log 2)
//   generator, minimax:        g_loss = mean log(1 - sigmoid(l)) = -mean softplus(l)
//   generator, non_saturating: g_loss = mean -log sigmoid(l)     =  mean softplus(-l)
//
// Sums are taken in double in index order, so they are deterministic.
#pragma once
#include <cstdint>
#include <string>

namespace gankit {

enum class GeneratorLoss { minimax = 0, non_saturating = 1 };

GeneratorLoss generator_loss_from_name(const std::string& name);  // throws std::invalid_argument
const char* generator_loss_name(GeneratorLoss kind);

// Returns d_loss; writes d(d_loss)/d(logit) to d_real (n_real) and d_fake (n_fake)
// unless they are null, and mean D(x) over each set to mean_probs[0] (real) and [1]
// (fake) unless it is null (from the same exponentials). n_real, n_fake >= 1.
double discriminator_loss(const float* logits_real, std::int64_t n_real, const float* logits_fake,
                          std::int64_t n_fake, float* d_real, float* d_fake,
                          double* mean_probs = nullptr);

// Returns g_loss; writes d(g_loss)/d(logit) to d_logits (n) unless it is null, and mean
// D(G(z)) to *mean_prob unless it is null. n >= 1.
double generator_loss(const float* logits_fake, std::int64_t n, GeneratorLoss kind,
                      float* d_logits, double* mean_prob = nullptr);

}  // namespace gankit
