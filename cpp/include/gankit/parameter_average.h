// An exponential moving average of a network's parameters and buffers, kept in a twin
// network of the same architecture so the average can run forward like any network.
// For a GAN's generator this is "generator averaging" (Yazici et al., "The unusual
// effectiveness of averaging in GAN training", ICLR 2019): the iterates of G circle
// around the equilibrium, their average sits closer to it, and its samples are sharper.
//
//   after the averaged network's update t:  beta = min(decay, (1 + t) / (10 + t))
//     average.params  = beta average.params  + (1 - beta) net.params
//     average.buffers = beta average.buffers + (1 - beta) net.buffers   (batch-norm running statistics)
//
// The buffers are averaged like the parameters so the averaged network normalises with
// statistics of the same trajectory it averages. Element-wise, so the result does not
// depend on the thread count.
#pragma once
#include <cstdint>
#include <memory>

#include "gankit/mlp.h"

namespace gankit {

class ParameterAverage {
 public:
  // A twin of `net` starting at its current parameters and buffers; decay in (0, 1)
  // (std::invalid_argument otherwise).
  ParameterAverage(const Mlp& net, double decay);

  double decay() const { return decay_; }
  // One average step after `net`'s update number net.optimizer_step().
  void update(const Mlp& net);
  // Restart the average at `net`'s current parameters and buffers.
  void reset(const Mlp& net);

  Mlp& network() { return *average_; }
  std::int64_t num_params() const { return average_->num_params(); }
  std::int64_t num_buffers() const { return average_->num_buffers(); }
  float* params() { return average_->params(); }
  float* buffers() { return average_->buffers(); }

 private:
  double decay_;
  std::unique_ptr<Mlp> average_;
};

void validate_average_decay(double decay);  // throws std::invalid_argument naming "ema"

}  // namespace gankit
