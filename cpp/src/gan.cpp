// The GAN training steps (see gan.h).
#include "gankit/gan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "gankit/busy_guard.h"
#include "gankit/limits.h"

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
  noise_buffer_.resize_discard(n * noise_dim_);
  fill_noise(noise_buffer_.data(), n);
  return noise_buffer_.data();
}

DStepResult Gan::d_step(const float* x_real, std::int64_t n_real, const float* z,
                        std::int64_t n_fake) {
  require_rows(n_real, "x_real");
  require_rows(n_fake, "z");
  StepGuard guard(busy_, *g_, *d_);
  const std::int64_t dim = data_dim();
  const std::int64_t n_total = n_real + n_fake;
  z = noise_or_draw(z, n_fake);
  const float* x_fake = g_->forward(z, n_fake);

  // Real and fake rows go through D as one batch: one GEMM per layer instead of two.
  d_input_.resize_discard(n_total * dim);
  std::copy_n(x_real, n_real * dim, d_input_.data());
  std::copy_n(x_fake, n_fake * dim, d_input_.data() + n_real * dim);
  const float* logits = d_->forward(d_input_.data(), n_total);

  d_logit_grad_.resize_discard(n_total);
  float* d_logits = d_logit_grad_.data();
  DStepResult result{};
  result.d_loss = discriminator_loss(logits, n_real, logits + n_real, n_fake, d_logits,
                                     d_logits + n_real);
  result.d_real = mean_sigmoid(logits, n_real);
  result.d_fake = mean_sigmoid(logits + n_real, n_fake);

  d_->backward(d_logits, /*want_param_grads=*/true, /*d_input=*/nullptr);
  d_->optimizer_update();
  return result;
}

GStepResult Gan::g_step(const float* z, std::int64_t n) {
  require_rows(n, "z");
  StepGuard guard(busy_, *g_, *d_);
  z = noise_or_draw(z, n);
  const float* x_fake = g_->forward(z, n);
  const float* logits = d_->forward(x_fake, n);

  d_logit_grad_.resize_discard(n);
  GStepResult result{};
  result.g_loss = generator_loss(logits, n, g_loss_, d_logit_grad_.data());
  result.d_fake = mean_sigmoid(logits, n);

  // D is held fixed: only the gradient w.r.t. its input flows back into G.
  d_input_grad_.resize_discard(n * data_dim());
  d_->backward(d_logit_grad_.data(), /*want_param_grads=*/false, d_input_grad_.data());
  g_->backward(d_input_grad_.data(), /*want_param_grads=*/true, /*d_input=*/nullptr);
  g_->optimizer_update();
  return result;
}

void Gan::generate(const float* z, std::int64_t n, float* x_out) {
  require_rows(n, "n");
  BusyGuard gan_guard(busy_, "this GAN");
  BusyGuard guard(g_->busy_flag(), "the generator network");
  z = noise_or_draw(z, n);
  const float* x = g_->forward(z, n);
  std::copy_n(x, n * data_dim(), x_out);
}

void Gan::discriminate(const float* x, std::int64_t n, float* prob_out) {
  require_rows(n, "x");
  BusyGuard guard(d_->busy_flag(), "the discriminator network");
  const float* logits = d_->forward(x, n);
  activation_forward(logits, prob_out, n, Activation::sigmoid, 0.0f);
}

}  // namespace gankit
