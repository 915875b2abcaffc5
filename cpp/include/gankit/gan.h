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
      std::int64_t noise_dim, GeneratorLoss g_loss, NoiseKind noise, std::uint64_t seed);

  Mlp& generator() { return *g_; }
  Mlp& discriminator() { return *d_; }
  std::int64_t noise_dim() const { return noise_dim_; }
  std::int64_t data_dim() const { return d_->input_dim(); }
  GeneratorLoss generator_loss_kind() const { return g_loss_; }
  NoiseKind noise_kind() const { return noise_; }
  Rng& rng() { return rng_; }

  // z may be null: then n_fake noise rows are drawn from the GAN's RNG.
  DStepResult d_step(const float* x_real, std::int64_t n_real, const float* z,
                     std::int64_t n_fake);
  GStepResult g_step(const float* z, std::int64_t n);

  void draw_noise(float* z, std::int64_t n);                     // (n, noise_dim)
  void generate(const float* z, std::int64_t n, float* x_out);   // z null: draw noise
  void discriminate(const float* x, std::int64_t n, float* prob_out);  // D(x), (n,)

 private:
  const float* noise_or_draw(const float* z, std::int64_t n);
  void fill_noise(float* z, std::int64_t n);

  std::shared_ptr<Mlp> g_;
  std::shared_ptr<Mlp> d_;
  std::int64_t noise_dim_;
  GeneratorLoss g_loss_;
  NoiseKind noise_;
  Rng rng_;

  AlignedBuffer noise_buffer_;    // (n, noise_dim) when the RNG draws z
  AlignedBuffer d_input_;         // (n_real + n_fake, data_dim): [x_real; G(z)]
  AlignedBuffer d_logit_grad_;    // (n_real + n_fake)
  AlignedBuffer d_input_grad_;    // (n, data_dim): dg_loss/dG(z) in the generator step

  std::atomic<bool> busy_{false};  // the RNG and workspaces above are per-GAN state
};

}  // namespace gankit
