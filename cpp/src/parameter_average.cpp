// The averaged twin of a network (see parameter_average.h).
#include "gankit/parameter_average.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gankit/optimizer.h"

namespace gankit {

void validate_average_decay(double decay) {
  if (!(std::isfinite(decay) && decay > 0.0 && decay < 1.0))
    throw std::invalid_argument("ema: expected a decay in (0, 1) such as 0.999, got " +
                                std::to_string(decay));
}

namespace {

// The twin never trains: plain SGD holds no optimizer state, so it costs its parameters,
// gradients and (on first use) inference workspaces only.
std::unique_ptr<Mlp> twin_of(const Mlp& net) {
  auto twin = std::make_unique<Mlp>(net.sizes(), net.hidden_activation(), net.output_activation(),
                                    net.slope(), net.hidden_options());
  OptimizerConfig no_state;
  no_state.kind = OptimizerKind::sgd;
  twin->configure_optimizer(no_state);
  twin->set_precision(net.precision());  // samples from the average as from the network
  return twin;
}

}  // namespace

ParameterAverage::ParameterAverage(const Mlp& net, double decay) : decay_(decay) {
  validate_average_decay(decay);
  average_ = twin_of(net);
  reset(net);
}

void ParameterAverage::reset(const Mlp& net) {
  std::copy_n(net.params(), net.num_params(), average_->params());
  std::copy_n(net.buffers(), net.num_buffers(), average_->buffers());
}

void ParameterAverage::update(const Mlp& net) {
  const double beta = average_decay_at(decay_, net.optimizer_step());
  average_step(average_->params(), net.params(), net.num_params(), beta);
  if (net.num_buffers() > 0) average_step(average_->buffers(), net.buffers(), net.num_buffers(), beta);
}

}  // namespace gankit
