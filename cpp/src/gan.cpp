// The GAN training steps (see gan.h).
#include "gankit/gan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "gankit/busy_guard.h"
#include "gankit/limits.h"
#include "gankit/step_profile.h"

namespace gankit {

NoiseKind noise_kind_from_name(const std::string& name) {
  if (name == "normal" || name == "gaussian") return NoiseKind::normal;
  if (name == "uniform") return NoiseKind::uniform;
  throw std::invalid_argument("noise: expected 'normal' or 'uniform', got '" + name + "'");
}

const char* noise_kind_name(NoiseKind kind) {
  return kind == NoiseKind::normal ? "normal" : "uniform";
}

namespace {

// A training step normalises each batch segment by its own variance, which one row does
// not have (PyTorch raises too). Checked before the step changes any state.
void require_normalisable(const Mlp& net, const char* network, std::int64_t n, const char* name,
                          const char* segment) {
  if (net.has_batch_norm() && n < 2)
    throw std::invalid_argument(std::string(name) + ": expected at least 2 rows, got " +
                                std::to_string(n) + ": the " + network +
                                " uses batch normalisation, which in training mode normalises " +
                                segment + " by its own batch statistics");
}

// Holds the busy flags of the GAN and both networks for the duration of a step.
struct StepGuard {
  StepGuard(std::atomic<bool>& gan, Mlp& g, Mlp& d)
      : gan_guard(gan, "this GAN"),
        g_guard(g.busy_flag(), "the generator network"),
        d_guard(d.busy_flag(), "the discriminator network") {}
  BusyGuard gan_guard;
  BusyGuard g_guard;
  BusyGuard d_guard;
};

}  // namespace

Gan::Gan(std::shared_ptr<Mlp> generator, std::shared_ptr<Mlp> discriminator,
         std::int64_t noise_dim, GeneratorLoss g_loss, NoiseKind noise, std::uint64_t seed)
    : g_(std::move(generator)),
      d_(std::move(discriminator)),
      noise_dim_(noise_dim),
      g_loss_(g_loss),
      noise_(noise),
      rng_(seed) {
  if (!g_ || !d_) throw std::invalid_argument("G and D: expected two networks, got null");
  if (g_.get() == d_.get())
    throw std::invalid_argument("G and D: expected two different networks, got the same one twice");
  if (noise_dim != g_->input_dim())
    throw std::invalid_argument("noise_dim: expected the generator's input size " +
                                std::to_string(g_->input_dim()) + ", got " +
                                std::to_string(noise_dim));
  if (g_->output_dim() != d_->input_dim())
    throw std::invalid_argument("G and D: the generator's output size " +
                                std::to_string(g_->output_dim()) +
                                " must equal the discriminator's input size " +
                                std::to_string(d_->input_dim()));
  if (d_->output_dim() != 1)
    throw std::invalid_argument("D: expected one output (a logit), got " +
                                std::to_string(d_->output_dim()));
}

void Gan::draw_noise(float* z, std::int64_t n) {
  require_rows(n, "n");
  BusyGuard guard(busy_, "this GAN");
  fill_noise(z, n);
}

void Gan::fill_noise(float* z, std::int64_t n) {
  if (noise_ == NoiseKind::normal) rng_.fill_normal(z, n * noise_dim_);
  else rng_.fill_uniform(z, n * noise_dim_, -1.0f, 1.0f);
}

const float* Gan::noise_or_draw(const float* z, std::int64_t n) {
  if (z != nullptr) return z;
  StepPhaseTimer timer(StepPhase::noise);
  noise_buffer_.resize_discard(n * noise_dim_);
  fill_noise(noise_buffer_.data(), n);
  return noise_buffer_.data();
}

DStepResult Gan::d_step(const float* x_real, std::int64_t n_real, const float* z,
                        std::int64_t n_fake) {
  require_rows(n_real, "x_real");
  require_rows(n_fake, "z");
  require_normalisable(*g_, "generator", n_fake, "z", "the fake batch");
  require_normalisable(*d_, "discriminator", n_real, "x_real", "segment 0 (the real rows)");
  require_normalisable(*d_, "discriminator", n_fake, "z", "segment 1 (the fake rows)");
  StepGuard guard(busy_, *g_, *d_);
  const std::int64_t dim = data_dim();
  const std::int64_t n_total = n_real + n_fake;
  z = noise_or_draw(z, n_fake);
  const float* x_fake;
  {
    StepPhaseTimer timer(StepPhase::generator_forward);
    x_fake = g_->forward(z, n_fake, ForwardMode::training);
  }

  // Real and fake rows go through D as one batch: one GEMM per layer instead of two. As
  // two segments, so batch norm (if any) normalises each with its own statistics, as
  // separate calls D(x_real), D(G(z)) would.
  const float* logits;
  {
    StepPhaseTimer timer(StepPhase::discriminator_forward);
    d_input_.resize_discard(n_total * dim);
    std::copy_n(x_real, n_real * dim, d_input_.data());
    std::copy_n(x_fake, n_fake * dim, d_input_.data() + n_real * dim);
    const std::int64_t segments[2] = {n_real, n_fake};
    logits = d_->forward_segments(d_input_.data(), segments, 2, ForwardMode::training);
  }

  d_logit_grad_.resize_discard(n_total);
  float* d_logits = d_logit_grad_.data();
  DStepResult result{};
  {
    StepPhaseTimer timer(StepPhase::losses);
    double mean_probs[2];
    result.d_loss = discriminator_loss(logits, n_real, logits + n_real, n_fake, d_logits,
                                       d_logits + n_real, mean_probs);
    result.d_real = mean_probs[0];
    result.d_fake = mean_probs[1];
  }
  // D's update rides on its backward pass (Mlp::backward_and_update).
  StepPhaseTimer timer(StepPhase::discriminator_backward_update);
  d_->backward_and_update(d_logits, /*d_input=*/nullptr);
  return result;
}

GStepResult Gan::g_step(const float* z, std::int64_t n) {
  require_rows(n, "z");
  require_normalisable(*g_, "generator", n, "z", "the fake batch");
  require_normalisable(*d_, "discriminator", n, "z", "the fake batch");
  StepGuard guard(busy_, *g_, *d_);
  z = noise_or_draw(z, n);
  const float* x_fake;
  const float* logits;
  {
    StepPhaseTimer timer(StepPhase::generator_forward);
    x_fake = g_->forward(z, n, ForwardMode::training);
  }
  {
    StepPhaseTimer timer(StepPhase::discriminator_forward);
    logits = d_->forward(x_fake, n, ForwardMode::training);
  }

  d_logit_grad_.resize_discard(n);
  GStepResult result{};
  {
    StepPhaseTimer timer(StepPhase::losses);
    result.g_loss = generator_loss(logits, n, g_loss_, d_logit_grad_.data(), &result.d_fake);
  }

  // D is held fixed: only the gradient w.r.t. its input flows back into G.
  d_input_grad_.resize_discard(n * data_dim());
  {
    StepPhaseTimer timer(StepPhase::discriminator_backward);
    d_->backward(d_logit_grad_.data(), /*want_param_grads=*/false, d_input_grad_.data());
  }
  StepPhaseTimer timer(StepPhase::generator_backward_update);
  g_->backward_and_update(d_input_grad_.data(), /*d_input=*/nullptr);
  return result;
}

void Gan::generate(const float* z, std::int64_t n, float* x_out) {
  require_rows(n, "n");
  BusyGuard gan_guard(busy_, "this GAN");
  BusyGuard guard(g_->busy_flag(), "the generator network");
  z = noise_or_draw(z, n);
  const float* x = g_->forward(z, n, ForwardMode::inference);
  std::copy_n(x, n * data_dim(), x_out);
}

void Gan::discriminate(const float* x, std::int64_t n, float* prob_out) {
  require_rows(n, "x");
  BusyGuard guard(d_->busy_flag(), "the discriminator network");
  const float* logits = d_->forward(x, n, ForwardMode::inference);
  activation_forward(logits, prob_out, n, Activation::sigmoid, 0.0f);
}

}  // namespace gankit
