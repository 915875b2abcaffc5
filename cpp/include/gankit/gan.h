// One GAN training step per call, forward, backward and update, with no Python
// between layers. Owns the noise RNG and the workspaces that join the two networks.
//
//   d_step: x_fake = G(z); logits = D([x_real; x_fake]) in one batched pass, as two
//           segments (batch norm normalises real and fake rows separately);
//           d_loss and its logit gradient; backward through D (parameter gradients,
//           no input gradient); D's optimizer update.
//   g_step: x_fake = G(z); logits = D(x_fake); g_loss (minimax or non_saturating);
//           backward through D for the input gradient only (D is not updated); backward
//           through G for parameter gradients only; G's optimizer update.
//
// Packing (PacGAN, Lin et al., NeurIPS 2018) with pack = m: D judges m samples at once,
// concatenated into one input of m * data_dim features, so it can see the diversity of a
// pack and punish a generator that collapses. A batch of n rows (a multiple of m) is, as
// row-major memory, already n / m packs of consecutive rows: D runs on it as it is, with
// no copy, and its loss averages over the n / m packs. pack = 1 is the plain GAN.
//
// Generator averaging (ema = decay in (0, 1), 0 = off): a ParameterAverage of G updated
// after every generator step; generate() uses it unless asked for G itself.
//
// Data-parallel training (one process per shard of the batch) needs each network's
// gradients combined across processes before its update, so each step also comes as its
// gradient half, which leaves the network's gradient buffer (Mlp::grads) filled, its
// parameters unchanged, and the update half:
//   d_step  ==  d_step_gradients, then apply_discriminator_update     (to the bit)
//   g_step  ==  g_step_gradients, then apply_generator_update         (and the EMA update)
// The one-call steps keep Adam fused into the backward GEMM (Mlp::backward_and_update);
// the split path runs the same arithmetic unfused.
//
// Both steps run both networks in training mode (batch statistics, running statistics
// updated, dropout on: PyTorch's .train()); generate and discriminate use inference mode
// (running statistics, no dropout). With batch norm, a step needs at least 2 rows in
// every segment it normalises and throws std::invalid_argument otherwise, before any
// state changes.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "gankit/aligned_buffer.h"
#include "gankit/loss.h"
#include "gankit/mlp.h"
#include "gankit/parameter_average.h"
#include "gankit/rng.h"

namespace gankit {

enum class NoiseKind { normal = 0, uniform = 1 };

NoiseKind noise_kind_from_name(const std::string& name);  // throws std::invalid_argument
const char* noise_kind_name(NoiseKind kind);

struct DStepResult {
  double d_loss;
  double d_real;  // mean D(x) over the real batch
  double d_fake;  // mean D(G(z)) over the fake batch
};

struct GStepResult {
  double g_loss;
  double d_fake;  // mean D(G(z)), before the generator's update
};

class Gan {
 public:
  Gan(std::shared_ptr<Mlp> generator, std::shared_ptr<Mlp> discriminator,
      std::int64_t noise_dim, GeneratorLoss g_loss, NoiseKind noise, std::uint64_t seed,
      std::int64_t pack = 1, double ema = 0.0);

  Mlp& generator() { return *g_; }
  Mlp& discriminator() { return *d_; }
  std::int64_t noise_dim() const { return noise_dim_; }
  std::int64_t data_dim() const { return g_->output_dim(); }
  std::int64_t pack() const { return pack_; }
  // The averaged generator, or null when ema is off.
  ParameterAverage* generator_average() { return average_.get(); }
  GeneratorLoss generator_loss_kind() const { return g_loss_; }
  NoiseKind noise_kind() const { return noise_; }
  Rng& rng() { return rng_; }

  // z may be null: then n_fake noise rows are drawn from the GAN's RNG. Row counts must be
  // multiples of pack (std::invalid_argument naming the argument otherwise).
  DStepResult d_step(const float* x_real, std::int64_t n_real, const float* z,
                     std::int64_t n_fake);
  GStepResult g_step(const float* z, std::int64_t n);

  // The steps without their optimizer update (see above).
  DStepResult d_step_gradients(const float* x_real, std::int64_t n_real, const float* z,
                               std::int64_t n_fake);
  GStepResult g_step_gradients(const float* z, std::int64_t n);
  // Each throws std::logic_error unless its *_gradients call came first (and no other
  // step of that network since): an update from stale gradients is never silent.
  void apply_discriminator_update();
  void apply_generator_update();  // then the generator average, when ema is on

  void draw_noise(float* z, std::int64_t n);                     // (n, noise_dim)
  // Rows [first_row, first_row + n) of a data-parallel step's noise (n, noise_dim). The
  // step's whole noise matrix is defined row by row: global row i comes from its own
  // stream, seeded from (key, i), where key is one draw from the GAN's RNG. Every rank
  // draws its own rows with one call per step, so the ranks' RNGs stay equal, no rank
  // draws rows it does not use, and the global noise is the same for any rank count.
  void draw_noise_shard(float* z, std::int64_t first_row, std::int64_t n);
  // z null: draw noise. averaged: through the generator average (when ema is on).
  void generate(const float* z, std::int64_t n, float* x_out, bool averaged = true);
  // D of each pack of `pack` consecutive rows of x (n, data_dim): prob_out (n / pack,).
  void discriminate(const float* x, std::int64_t n, float* prob_out);

 private:
  const float* noise_or_draw(const float* z, std::int64_t n);
  void fill_noise(float* z, std::int64_t n);
  std::int64_t packs_of(std::int64_t rows, const char* name) const;
  DStepResult run_d_step(const float* x_real, std::int64_t n_real, const float* z,
                         std::int64_t n_fake, bool update);
  GStepResult run_g_step(const float* z, std::int64_t n, bool update);

  std::shared_ptr<Mlp> g_;
  std::shared_ptr<Mlp> d_;
  std::int64_t noise_dim_;
  GeneratorLoss g_loss_;
  NoiseKind noise_;
  Rng rng_;
  std::int64_t pack_;
  std::unique_ptr<ParameterAverage> average_;

  AlignedBuffer noise_buffer_;    // (n, noise_dim) when the RNG draws z
  AlignedBuffer d_input_;         // (n_real + n_fake, data_dim): [x_real; G(z)]
  AlignedBuffer d_logit_grad_;    // (packs of n_real + n_fake)
  AlignedBuffer d_input_grad_;    // (n, data_dim): dg_loss/dG(z) in the generator step

  bool d_gradients_pending_ = false;  // d_step_gradients ran; its update has not
  bool g_gradients_pending_ = false;

  std::atomic<bool> busy_{false};  // the RNG and workspaces above are per-GAN state
};

}  // namespace gankit
