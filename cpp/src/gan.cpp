// The GAN training steps (see gan.h).
#include "gankit/gan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "gankit/busy_guard.h"
#include "gankit/limits.h"
#include "gankit/step_profile.h"
#include "gankit/threads.h"

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
// n counts packs when packed (D's rows are packs then).
void require_normalisable(const Mlp& net, const char* network, std::int64_t n, const char* name,
                          const char* segment, bool packed = false) {
  const char* unit = packed ? "packs" : "rows";
  if (net.has_batch_norm() && n < 2)
    throw std::invalid_argument(std::string(name) + ": expected at least 2 " + unit + ", got " +
                                std::to_string(n) + ": the " + network +
                                " uses batch normalisation, which in training mode normalises " +
                                segment + " by its own batch statistics");
}

// The seed of global row `row`'s noise stream in a data-parallel step. Hashed, because
// Rng seeds s and s + 0x9E37... (splitmix64's increment) would give overlapping states.
std::uint64_t row_stream_seed(std::uint64_t key, std::uint64_t row) {
  std::uint64_t x = key ^ (row * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;  // splitmix64's finaliser
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
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
         std::int64_t noise_dim, GeneratorLoss g_loss, NoiseKind noise, std::uint64_t seed,
         std::int64_t pack, double ema)
    : g_(std::move(generator)),
      d_(std::move(discriminator)),
      noise_dim_(noise_dim),
      g_loss_(g_loss),
      noise_(noise),
      rng_(seed),
      pack_(pack) {
  if (!g_ || !d_) throw std::invalid_argument("G and D: expected two networks, got null");
  if (g_.get() == d_.get())
    throw std::invalid_argument("G and D: expected two different networks, got the same one twice");
  if (noise_dim != g_->input_dim())
    throw std::invalid_argument("noise_dim: expected the generator's input size " +
                                std::to_string(g_->input_dim()) + ", got " +
                                std::to_string(noise_dim));
  if (pack < 1 || pack > kMaxPack)
    throw std::invalid_argument("pack: expected an integer in [1, " + std::to_string(kMaxPack) +
                                "], got " + std::to_string(pack));
  if (pack == 1 && g_->output_dim() != d_->input_dim())
    throw std::invalid_argument("G and D: the generator's output size " +
                                std::to_string(g_->output_dim()) +
                                " must equal the discriminator's input size " +
                                std::to_string(d_->input_dim()));
  if (pack > 1 && g_->output_dim() * pack != d_->input_dim())
    throw std::invalid_argument("D: with pack=" + std::to_string(pack) +
                                " the discriminator sees packs of " + std::to_string(pack) +
                                " samples, so its input size must be pack x the generator's output "
                                "size = " + std::to_string(g_->output_dim() * pack) + ", got " +
                                std::to_string(d_->input_dim()));
  if (d_->output_dim() != 1)
    throw std::invalid_argument("D: expected one output (a logit), got " +
                                std::to_string(d_->output_dim()));
  if (ema != 0.0) average_ = std::make_unique<ParameterAverage>(*g_, ema);
}

std::int64_t Gan::packs_of(std::int64_t rows, const char* name) const {
  if (rows % pack_ != 0)
    throw std::invalid_argument(std::string(name) + ": expected a number of rows that is a multiple of "
                                "pack=" + std::to_string(pack_) + " (D judges packs of " +
                                std::to_string(pack_) + " samples), got " + std::to_string(rows));
  return rows / pack_;
}

void Gan::draw_noise(float* z, std::int64_t n) {
  require_rows(n, "n");
  BusyGuard guard(busy_, "this GAN");
  fill_noise(z, n);
}

void Gan::draw_noise_shard(float* z, std::int64_t first_row, std::int64_t n) {
  require_rows(n, "n");
  if (first_row < 0 || first_row > kMaxRows - n)
    throw std::invalid_argument("first_row: expected an integer in [0, " +
                                std::to_string(kMaxRows - n) + "], got " + std::to_string(first_row));
  BusyGuard guard(busy_, "this GAN");
  const std::uint64_t key = rng_.next_u64();
  const std::int64_t dim = noise_dim_;
  const int nt = threads_for(n, 20.0 * static_cast<double>(dim));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (std::int64_t row = 0; row < n; ++row) {
    const auto global_row = static_cast<std::uint64_t>(first_row + row);
    Rng row_rng(row_stream_seed(key, global_row));
    float* z_row = z + row * dim;
    if (noise_ == NoiseKind::normal) row_rng.fill_normal(z_row, dim);
    else row_rng.fill_uniform(z_row, dim, -1.0f, 1.0f);
  }
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
  return run_d_step(x_real, n_real, z, n_fake, /*update=*/true);
}

DStepResult Gan::d_step_gradients(const float* x_real, std::int64_t n_real, const float* z,
                                  std::int64_t n_fake) {
  return run_d_step(x_real, n_real, z, n_fake, /*update=*/false);
}

GStepResult Gan::g_step(const float* z, std::int64_t n) { return run_g_step(z, n, /*update=*/true); }

GStepResult Gan::g_step_gradients(const float* z, std::int64_t n) {
  return run_g_step(z, n, /*update=*/false);
}

void Gan::apply_discriminator_update() {
  BusyGuard gan_guard(busy_, "this GAN");
  BusyGuard guard(d_->busy_flag(), "the discriminator network");
  if (!d_gradients_pending_)
    throw std::logic_error("apply_update('D'): no discriminator gradients pending (run "
                           "d_step with update=False first, once per update)");
  d_gradients_pending_ = false;
  StepPhaseTimer timer(StepPhase::discriminator_backward_update);
  d_->optimizer_update();
}

void Gan::apply_generator_update() {
  BusyGuard gan_guard(busy_, "this GAN");
  BusyGuard guard(g_->busy_flag(), "the generator network");
  if (!g_gradients_pending_)
    throw std::logic_error("apply_update('G'): no generator gradients pending (run "
                           "g_step with update=False first, once per update)");
  g_gradients_pending_ = false;
  StepPhaseTimer timer(StepPhase::generator_backward_update);
  g_->optimizer_update();
  if (average_) average_->update(*g_);
}

DStepResult Gan::run_d_step(const float* x_real, std::int64_t n_real, const float* z,
                            std::int64_t n_fake, bool update) {
  require_rows(n_real, "x_real");
  require_rows(n_fake, "z");
  const std::int64_t real_packs = packs_of(n_real, "x_real");
  const std::int64_t fake_packs = packs_of(n_fake, "z");
  require_normalisable(*g_, "generator", n_fake, "z", "the fake batch");
  const bool packed = pack_ > 1;
  require_normalisable(*d_, "discriminator", real_packs, "x_real",
                       packed ? "segment 0 (the real packs)" : "segment 0 (the real rows)", packed);
  require_normalisable(*d_, "discriminator", fake_packs, "z",
                       packed ? "segment 1 (the fake packs)" : "segment 1 (the fake rows)", packed);
  StepGuard guard(busy_, *g_, *d_);
  const std::int64_t dim = data_dim();
  const std::int64_t n_total = n_real + n_fake;
  const std::int64_t total_packs = real_packs + fake_packs;
  z = noise_or_draw(z, n_fake);
  const float* x_fake;
  {
    StepPhaseTimer timer(StepPhase::generator_forward);
    x_fake = g_->forward(z, n_fake, ForwardMode::training);
  }

  // Real and fake rows go through D as one batch: one GEMM per layer instead of two. As
  // two segments, so batch norm (if any) normalises each with its own statistics, as
  // separate calls D(x_real), D(G(z)) would. With packing the same memory is read as
  // total_packs rows of pack * dim features: real packs from real rows, fake from fake.
  const float* logits;
  {
    StepPhaseTimer timer(StepPhase::discriminator_forward);
    d_input_.resize_discard(n_total * dim);
    std::copy_n(x_real, n_real * dim, d_input_.data());
    std::copy_n(x_fake, n_fake * dim, d_input_.data() + n_real * dim);
    const std::int64_t segments[2] = {real_packs, fake_packs};
    logits = d_->forward_segments(d_input_.data(), segments, 2, ForwardMode::training);
  }

  d_logit_grad_.resize_discard(total_packs);
  float* d_logits = d_logit_grad_.data();
  DStepResult result{};
  {
    StepPhaseTimer timer(StepPhase::losses);
    double mean_probs[2];
    result.d_loss = discriminator_loss(logits, real_packs, logits + real_packs, fake_packs,
                                       d_logits, d_logits + real_packs, mean_probs);
    result.d_real = mean_probs[0];
    result.d_fake = mean_probs[1];
  }
  // D's update rides on its backward pass (Mlp::backward_and_update).
  StepPhaseTimer timer(StepPhase::discriminator_backward_update);
  d_gradients_pending_ = !update;
  if (update) d_->backward_and_update(d_logits, /*d_input=*/nullptr);
  else d_->backward(d_logits, /*want_param_grads=*/true, /*d_input=*/nullptr);
  return result;
}

GStepResult Gan::run_g_step(const float* z, std::int64_t n, bool update) {
  require_rows(n, "z");
  const std::int64_t packs = packs_of(n, "z");
  require_normalisable(*g_, "generator", n, "z", "the fake batch");
  require_normalisable(*d_, "discriminator", packs, "z", pack_ > 1 ? "the fake packs" : "the fake batch",
                       pack_ > 1);
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
    logits = d_->forward(x_fake, packs, ForwardMode::training);  // G's rows, read as packs
  }

  d_logit_grad_.resize_discard(packs);
  GStepResult result{};
  {
    StepPhaseTimer timer(StepPhase::losses);
    result.g_loss = generator_loss(logits, packs, g_loss_, d_logit_grad_.data(), &result.d_fake);
  }

  // D is held fixed: only the gradient w.r.t. its input flows back into G. Its input
  // gradient (packs, pack * dim) is, in memory, G's output gradient (n, dim).
  d_input_grad_.resize_discard(n * data_dim());
  {
    StepPhaseTimer timer(StepPhase::discriminator_backward);
    d_->backward(d_logit_grad_.data(), /*want_param_grads=*/false, d_input_grad_.data());
  }
  StepPhaseTimer timer(StepPhase::generator_backward_update);
  g_gradients_pending_ = !update;
  if (!update) {
    g_->backward(d_input_grad_.data(), /*want_param_grads=*/true, /*d_input=*/nullptr);
    return result;
  }
  g_->backward_and_update(d_input_grad_.data(), /*d_input=*/nullptr);
  if (average_) average_->update(*g_);
  return result;
}

void Gan::generate(const float* z, std::int64_t n, float* x_out, bool averaged) {
  require_rows(n, "n");
  BusyGuard gan_guard(busy_, "this GAN");
  BusyGuard guard(g_->busy_flag(), "the generator network");
  z = noise_or_draw(z, n);
  Mlp& net = (averaged && average_) ? average_->network() : *g_;
  const float* x = net.forward(z, n, ForwardMode::inference);
  std::copy_n(x, n * data_dim(), x_out);
}

void Gan::discriminate(const float* x, std::int64_t n, float* prob_out) {
  require_rows(n, "x");
  const std::int64_t packs = packs_of(n, "x");
  BusyGuard guard(d_->busy_flag(), "the discriminator network");
  const float* logits = d_->forward(x, packs, ForwardMode::inference);
  activation_forward(logits, prob_out, packs, Activation::sigmoid, 0.0f);
}

}  // namespace gankit
