// The MLP: parameter table, initialisation, forward/backward over dense layers,
// optimizer update (see mlp.h).
#include "gankit/mlp.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "gankit/dense.h"
#include "gankit/limits.h"
#include "gankit/rng.h"

namespace gankit {

namespace {

void check_sizes(const std::vector<std::int64_t>& sizes) {
  if (sizes.size() < 2)
    throw std::invalid_argument("sizes: expected at least two layer sizes [input, ..., output], got " +
                                std::to_string(sizes.size()));
  for (std::size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] < 1 || sizes[i] > kMaxWidth)
      throw std::invalid_argument("sizes[" + std::to_string(i) +
                                  "]: expected an integer in [1, 16777216], got " +
                                  std::to_string(sizes[i]));
  // Summed layer by layer against the cap, so the total itself cannot overflow.
  std::int64_t params = 0;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    params += sizes[i] * sizes[i + 1] + sizes[i + 1];
    if (params > kMaxParams)
      throw std::invalid_argument("sizes: expected a network of at most " +
                                  std::to_string(kMaxParams) + " parameters, got more after layer " +
                                  std::to_string(i + 1));
  }
}

}  // namespace

Mlp::Mlp(const std::vector<std::int64_t>& sizes, Activation hidden, Activation output,
         float slope)
    : sizes_(sizes), hidden_(hidden), output_(output), slope_(slope) {
  check_sizes(sizes);
  validate_slope(slope);
  std::int64_t offset = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    DenseLayerSpec layer{};
    layer.fan_in = sizes[l];
    layer.fan_out = sizes[l + 1];
    layer.w_offset = offset;
    layer.b_offset = offset + layer.fan_in * layer.fan_out;
    layer.activation = (l + 2 == sizes.size()) ? output : hidden;
    offset = layer.b_offset + layer.fan_out;
    layers_.push_back(layer);
  }
  num_params_ = offset;
  max_width_ = *std::max_element(sizes.begin(), sizes.end());
  params_.resize_discard(num_params_);
  grads_.resize_discard(num_params_);
  outputs_.resize(layers_.size());
  configure_optimizer(OptimizerConfig{});
  init_glorot(0);
}

void Mlp::init_glorot(std::uint64_t seed) {
  Rng rng(seed);
  for (const DenseLayerSpec& layer : layers_) {
    // Glorot/Xavier uniform: Var(W) = 2 / (fan_in + fan_out) keeps activations and
    // gradients at a similar scale through the network at initialisation.
    const float limit = static_cast<float>(std::sqrt(6.0 / static_cast<double>(layer.fan_in + layer.fan_out)));
    rng.fill_uniform(params_.data() + layer.w_offset, layer.fan_in * layer.fan_out, -limit, limit);
    std::fill_n(params_.data() + layer.b_offset, layer.fan_out, 0.0f);
  }
  std::fill_n(grads_.data(), num_params_, 0.0f);
}

void Mlp::configure_optimizer(const OptimizerConfig& config) {
  validate(config);
  optimizer_ = config;
  const std::int64_t size = optimizer_state_size();
  optimizer_state_.resize_discard(size);
  std::fill_n(optimizer_state_.data(), size, 0.0f);
  optimizer_step_ = 0;
}

std::int64_t Mlp::optimizer_state_size() const {
  return optimizer_state_per_param(optimizer_) * num_params_;
}

void Mlp::set_optimizer_step(std::int64_t step) {
  if (step < 0) throw std::invalid_argument("optimizer step: expected >= 0, got " + std::to_string(step));
  optimizer_step_ = step;
}

void Mlp::optimizer_update() {
  const OptimizerConfig& c = optimizer_;
  ++optimizer_step_;
  if (c.kind == OptimizerKind::adam) {
    float* m = optimizer_state_.data();
    float* v = m + num_params_;
    adam_step(params_.data(), grads_.data(), m, v, num_params_, optimizer_step_, c.lr, c.beta1,
              c.beta2, c.eps, c.weight_decay);
  } else {
    float* velocity = c.momentum > 0.0f ? optimizer_state_.data() : nullptr;
    sgd_step(params_.data(), grads_.data(), velocity, num_params_, c.lr, c.momentum,
             c.weight_decay);
  }
}

void Mlp::reserve_batch(std::int64_t batch) {
  if (batch <= batch_capacity_) return;
  for (std::size_t l = 0; l < layers_.size(); ++l)
    outputs_[l].resize_discard(batch * layers_[l].fan_out);
  grad_ping_.resize_discard(batch * max_width_);
  grad_pong_.resize_discard(batch * max_width_);
  batch_capacity_ = batch;
}

const float* Mlp::forward(const float* x, std::int64_t batch) {
  require_rows(batch, "batch");
  reserve_batch(batch);
  forward_input_ = x;
  forward_batch_ = batch;
  const float* layer_input = x;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const DenseLayerSpec& layer = layers_[l];
    float* y = outputs_[l].data();
    dense_forward(layer_input, params_.data() + layer.w_offset, params_.data() + layer.b_offset,
                  y, batch, layer.fan_in, layer.fan_out, layer.activation, slope_);
    layer_input = y;
  }
  return layer_input;
}

void Mlp::backward(const float* d_output, bool want_param_grads, float* d_input) {
  if (forward_input_ == nullptr) throw std::logic_error("Mlp::backward called before forward");
  const std::int64_t batch = forward_batch_;
  float* d_y = grad_ping_.data();
  float* d_x_next = grad_pong_.data();
  std::copy_n(d_output, batch * output_dim(), d_y);
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const DenseLayerSpec& layer = layers_[l];
    const float* x = (l == 0) ? forward_input_ : outputs_[l - 1].data();
    float* d_w = want_param_grads ? grads_.data() + layer.w_offset : nullptr;
    float* d_b = want_param_grads ? grads_.data() + layer.b_offset : nullptr;
    // No input gradient at the first layer unless the caller asked for it.
    float* d_x = (l > 0) ? d_x_next : d_input;
    dense_backward(x, params_.data() + layer.w_offset, outputs_[l].data(), d_y, d_w, d_b, d_x,
                   batch, layer.fan_in, layer.fan_out, layer.activation, slope_);
    std::swap(d_y, d_x_next);
  }
}

}  // namespace gankit
