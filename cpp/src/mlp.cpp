// The MLP: block table, initialisation, forward/backward through dense, batch-norm,
// maxout and dropout stages, optimizer update (see mlp.h).
#include "gankit/mlp.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "gankit/batchnorm.h"
#include "gankit/dense.h"
#include "gankit/dropout.h"
#include "gankit/limits.h"
#include "gankit/maxout.h"
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

void check_options(const HiddenBlockOptions& options, Activation hidden) {
  validate_maxout_pieces(options.pieces);
  validate_dropout_rate(options.dropout);
  if (options.pieces > 1 && hidden != Activation::identity)
    throw std::invalid_argument(std::string("hidden: maxout (pieces > 1) is the block's "
                                            "nonlinearity; expected activation 'identity', got '") +
                                activation_name(hidden) + "'");
}

// The masks and argmaxes are bytes; AlignedBuffer holds floats, and reading its storage
// through unsigned char is allowed by the aliasing rules.
std::uint8_t* bytes(AlignedBuffer& buffer) { return reinterpret_cast<std::uint8_t*>(buffer.data()); }
void reserve_bytes(AlignedBuffer& buffer, std::int64_t count) {
  buffer.resize_discard((count + 3) / 4);
}

}  // namespace

Mlp::Mlp(const std::vector<std::int64_t>& sizes, Activation hidden, Activation output,
         float slope, const HiddenBlockOptions& options)
    : sizes_(sizes), hidden_(hidden), output_(output), slope_(slope), options_(options) {
  check_sizes(sizes);
  validate_slope(slope);
  check_options(options, hidden);
  std::int64_t offset = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const bool is_output = (l + 2 == sizes.size());
    BlockSpec block{};
    block.units = sizes[l + 1];
    block.pieces = is_output ? 1 : options.pieces;
    block.batch_norm = !is_output && options.batch_norm;
    block.dropout = is_output ? 0.0f : options.dropout;
    DenseLayerSpec layer{};
    layer.fan_in = sizes[l];
    layer.fan_out = block.units * block.pieces;
    layer.w_offset = offset;
    layer.b_offset = offset + layer.fan_in * layer.fan_out;
    layer.activation = is_output ? output : hidden;
    offset = layer.b_offset + layer.fan_out;
    block.gamma_offset = block.beta_offset = -1;
    block.running_mean_offset = block.running_var_offset = -1;
    if (block.batch_norm) {
      block.gamma_offset = offset;
      block.beta_offset = offset + layer.fan_out;
      offset += 2 * layer.fan_out;
      block.running_mean_offset = num_buffers_;
      block.running_var_offset = num_buffers_ + layer.fan_out;
      num_buffers_ += 2 * layer.fan_out;
    }
    max_width_ = std::max({max_width_, layer.fan_in, layer.fan_out});
    layers_.push_back(layer);
    blocks_.push_back(block);
  }
  num_params_ = offset;
  params_.resize_discard(num_params_);
  grads_.resize_discard(num_params_);
  buffers_.resize_discard(num_buffers_);
  workspaces_.resize(layers_.size());
  segment_rows_.reserve(8);  // d_step uses two: no reallocation in a step
  configure_optimizer(OptimizerConfig{});
  init_glorot(0);
}

void Mlp::init_glorot(std::uint64_t seed) {
  Rng rng(seed);
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const DenseLayerSpec& layer = layers_[l];
    const BlockSpec& block = blocks_[l];
    // Glorot/Xavier uniform: Var(W) = 2 / (fan_in + fan_out) keeps activations and
    // gradients at a similar scale through the network at initialisation.
    const float limit = static_cast<float>(std::sqrt(6.0 / static_cast<double>(layer.fan_in + layer.fan_out)));
    rng.fill_uniform(params_.data() + layer.w_offset, layer.fan_in * layer.fan_out, -limit, limit);
    std::fill_n(params_.data() + layer.b_offset, layer.fan_out, 0.0f);
    if (block.batch_norm) {
      std::fill_n(params_.data() + block.gamma_offset, layer.fan_out, 1.0f);
      std::fill_n(params_.data() + block.beta_offset, layer.fan_out, 0.0f);
      std::fill_n(buffers_.data() + block.running_mean_offset, layer.fan_out, 0.0f);
      std::fill_n(buffers_.data() + block.running_var_offset, layer.fan_out, 1.0f);
    }
  }
  std::fill_n(grads_.data(), num_params_, 0.0f);
}

void Mlp::set_precision(GemmPrecision precision) {
  if (precision == GemmPrecision::bf16) require_bf16_kernel("precision bf16");
  precision_ = precision;
}

void Mlp::set_dropout_state(std::uint64_t seed, std::uint64_t counter) {
  dropout_seed_ = seed;
  dropout_counter_ = counter;
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
  const double lr = scheduled_lr(c, optimizer_step_);
  if (c.kind == OptimizerKind::adam) {
    float* m = optimizer_state_.data();
    float* v = m + num_params_;
    adam_step(params_.data(), grads_.data(), m, v, num_params_, optimizer_step_, lr, c.beta1,
              c.beta2, c.eps, c.weight_decay);
  } else {
    float* velocity = c.momentum > 0.0f ? optimizer_state_.data() : nullptr;
    sgd_step(params_.data(), grads_.data(), velocity, num_params_, lr, c.momentum,
             c.weight_decay);
  }
}

void Mlp::reserve_batch(std::int64_t batch, std::int64_t num_segments) {
  if (batch <= batch_capacity_ && num_segments <= segment_capacity_) return;
  batch = std::max(batch, batch_capacity_);
  num_segments = std::max(num_segments, segment_capacity_);
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const BlockSpec& block = blocks_[l];
    const std::int64_t width = layers_[l].fan_out;
    BlockWorkspace& ws = workspaces_[l];
    ws.dense_out.resize_discard(batch * width);
    if (block.batch_norm) {
      ws.bn_out.resize_discard(batch * width);
      ws.bn_mean.resize_discard(num_segments * width);
      ws.bn_rstd.resize_discard(num_segments * width);
    }
    if (block.pieces > 1) {
      ws.max_out.resize_discard(batch * block.units);
      reserve_bytes(ws.argmax, batch * block.units);
    }
    if (block.dropout > 0.0f) {
      ws.drop_out.resize_discard(batch * block.units);
      reserve_bytes(ws.mask, batch * block.units);
    }
  }
  grad_ping_.resize_discard(batch * max_width_);
  grad_pong_.resize_discard(batch * max_width_);
  batch_capacity_ = batch;
  segment_capacity_ = num_segments;
}

bool Mlp::dropout_active(const BlockSpec& block) const {
  return block.dropout > 0.0f && forward_mode_ == ForwardMode::training;
}

const float* Mlp::forward(const float* x, std::int64_t batch, ForwardMode mode) {
  require_rows(batch, "batch");
  return forward_segments(x, &batch, 1, mode);
}

const float* Mlp::forward_segments(const float* x, const std::int64_t* segment_rows,
                                   std::int64_t num_segments, ForwardMode mode) {
  if (num_segments < 1 || segment_rows == nullptr)
    throw std::invalid_argument("segments: expected at least one, got " + std::to_string(num_segments));
  // Each segment under the row limit first, so their sum cannot overflow (too few rows
  // are check_batch_segments' to name).
  std::int64_t batch = 0;
  for (std::int64_t s = 0; s < num_segments; ++s) {
    if (segment_rows[s] > kMaxRows) require_rows(segment_rows[s], "segment rows");
    batch += segment_rows[s];
  }
  // Every check before any state changes: a refused call leaves the running statistics
  // and the dropout counter as they were.
  const bool batch_stats = mode == ForwardMode::training && has_batch_norm();
  check_batch_segments(segment_rows, num_segments, batch, batch_stats ? 2 : 1);
  require_rows(batch, "batch");
  reserve_batch(batch, num_segments);
  segment_rows_.assign(segment_rows, segment_rows + num_segments);
  forward_input_ = x;
  forward_batch_ = batch;
  forward_mode_ = mode;
  const std::uint64_t dropout_call = dropout_counter_;
  if (mode == ForwardMode::training && has_dropout()) ++dropout_counter_;
  const float* layer_input = x;
  for (std::size_t l = 0; l < layers_.size(); ++l)
    layer_input = forward_block(l, layer_input, dropout_call);
  return layer_input;
}

const float* Mlp::forward_block(std::size_t l, const float* x, std::uint64_t dropout_call) {
  const DenseLayerSpec& layer = layers_[l];
  const BlockSpec& block = blocks_[l];
  BlockWorkspace& ws = workspaces_[l];
  const std::int64_t batch = forward_batch_;
  const std::int64_t width = layer.fan_out;
  float* const p = params_.data();
  // With batch norm the activation comes after it, so the GEMM epilogue adds the bias only.
  const Activation epilogue = block.batch_norm ? Activation::identity : layer.activation;
  dense_forward(x, p + layer.w_offset, p + layer.b_offset, ws.dense_out.data(), batch,
                layer.fan_in, width, epilogue, slope_, precision_);
  const float* h = ws.dense_out.data();
  if (block.batch_norm) {
    float* normalised = ws.bn_out.data();
    float* running_mean = buffers_.data() + block.running_mean_offset;
    float* running_var = buffers_.data() + block.running_var_offset;
    if (forward_mode_ == ForwardMode::training) {
      batchnorm_forward_training(h, p + block.gamma_offset, p + block.beta_offset, normalised,
                                 batch, width, segment_rows_.data(),
                                 static_cast<std::int64_t>(segment_rows_.size()), kBatchNormEps,
                                 kBatchNormMomentum, ws.bn_mean.data(), ws.bn_rstd.data(),
                                 running_mean, running_var);
    } else {
      batchnorm_forward_inference(h, p + block.gamma_offset, p + block.beta_offset, running_mean,
                                  running_var, normalised, batch, width, kBatchNormEps);
    }
    if (layer.activation != Activation::identity)
      activation_forward(normalised, normalised, batch * width, layer.activation, slope_);
    h = normalised;
  }
  if (block.pieces > 1) {
    maxout_forward(h, ws.max_out.data(), bytes(ws.argmax), batch, block.units, block.pieces);
    h = ws.max_out.data();
  }
  if (dropout_active(block)) {
    dropout_forward(h, ws.drop_out.data(), bytes(ws.mask), batch * block.units, block.dropout,
                    dropout_seed_, dropout_call, static_cast<std::uint64_t>(l));
    h = ws.drop_out.data();
  }
  ws.output = h;
  return h;
}

void Mlp::backward(const float* d_output, bool want_param_grads, float* d_input) {
  backward_pass(d_output, want_param_grads, d_input, /*update=*/nullptr);
}

void Mlp::backward_and_update(const float* d_output, float* d_input) {
  if (!fused_update_ || optimizer_.kind != OptimizerKind::adam) {
    backward(d_output, /*want_param_grads=*/true, d_input);
    optimizer_update();
    return;
  }
  const OptimizerConfig& c = optimizer_;
  const std::int64_t step = optimizer_step_ + 1;
  const AdamFactors adam =
      adam_factors(step, scheduled_lr(c, step), c.beta1, c.beta2, c.eps, c.weight_decay);
  backward_pass(d_output, /*want_param_grads=*/true, d_input, &adam);
  // The dense layers' w and b were updated by their GEMMs; batch norm's gamma and beta,
  // whose gradients come from their own kernel, are updated here.
  float* m = optimizer_state_.data();
  float* v = m + num_params_;
  for (const BlockSpec& block : blocks_)
    if (block.batch_norm) {
      const std::int64_t at = block.gamma_offset;
      const std::int64_t n = 2 * (block.beta_offset - block.gamma_offset);  // gamma, then beta
      adam_span(adam, params_.data() + at, grads_.data() + at, m + at, v + at, n);
    }
  ++optimizer_step_;
}

void Mlp::backward_pass(const float* d_output, bool want_param_grads, float* d_input,
                        const AdamFactors* update) {
  if (forward_input_ == nullptr) throw std::logic_error("Mlp::backward called before forward");
  float* d_y = grad_ping_.data();
  float* spare = grad_pong_.data();
  std::copy_n(d_output, forward_batch_ * output_dim(), d_y);
  bool d_y_is_d_z = false;  // set when the block above already applied our derivative
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const float* x = (l == 0) ? forward_input_ : workspaces_[l - 1].output;
    backward_block(l, x, d_y, spare, d_y_is_d_z, want_param_grads, d_input, update);
  }
}

bool Mlp::is_plain(const BlockSpec& block) const {
  return !block.batch_norm && block.pieces == 1 && !dropout_active(block);
}

// d_y holds d(loss)/d(block output) on entry and d(loss)/d(block input) on return (for
// l > 0; block 0 writes it to d_input, if given). Stages run in reverse; those that change
// the width write into `spare` and swap. When the block below is plain (dense +
// activation, whose output is this block's input x), its activation derivative is fused
// into this block's input-gradient GEMM and d_y_is_d_z tells it so; a plain block that
// receives d_y_is_d_z skips its own derivative pass.
void Mlp::backward_block(std::size_t l, const float* x, float*& d_y, float*& spare,
                         bool& d_y_is_d_z, bool want_param_grads, float* d_input,
                         const AdamFactors* update) {
  const DenseLayerSpec& layer = layers_[l];
  const BlockSpec& block = blocks_[l];
  BlockWorkspace& ws = workspaces_[l];
  const std::int64_t batch = forward_batch_;
  const std::int64_t width = layer.fan_out;
  float* const p = params_.data();
  float* const g = grads_.data();
  if (dropout_active(block))
    dropout_backward(d_y, bytes(ws.mask), d_y, batch * block.units, block.dropout);
  if (block.pieces > 1) {
    maxout_backward(d_y, bytes(ws.argmax), spare, batch, block.units, block.pieces);
    std::swap(d_y, spare);
  }
  Activation dense_activation = layer.activation;
  if (block.batch_norm) {
    const float* normalised = ws.bn_out.data();
    if (layer.activation != Activation::identity)
      activation_backward(normalised, d_y, d_y, batch * width, layer.activation, slope_);
    float* d_gamma = want_param_grads ? g + block.gamma_offset : nullptr;
    float* d_beta = want_param_grads ? g + block.beta_offset : nullptr;
    if (forward_mode_ == ForwardMode::training) {
      batchnorm_backward_training(ws.dense_out.data(), p + block.gamma_offset, ws.bn_mean.data(),
                                  ws.bn_rstd.data(), d_y, d_y, d_gamma, d_beta, batch, width,
                                  segment_rows_.data(),
                                  static_cast<std::int64_t>(segment_rows_.size()));
    } else {
      batchnorm_backward_inference(ws.dense_out.data(), p + block.gamma_offset,
                                   buffers_.data() + block.running_mean_offset,
                                   buffers_.data() + block.running_var_offset, d_y, d_y, d_gamma,
                                   d_beta, batch, width, kBatchNormEps);
    }
    dense_activation = Activation::identity;  // the activation came after the norm
  }
  if (!d_y_is_d_z)
    activation_gradient_tile(d_y, width, ws.dense_out.data(), width, batch, width,
                             dense_activation, slope_);
  float* d_w = want_param_grads ? g + layer.w_offset : nullptr;
  float* d_b = want_param_grads ? g + layer.b_offset : nullptr;
  // No input gradient at the first layer unless the caller asked for it.
  float* d_x = (l > 0) ? spare : d_input;
  const bool fuse_below = l > 0 && is_plain(blocks_[l - 1]);
  const Activation x_act = fuse_below ? layers_[l - 1].activation : Activation::identity;
  float* m = optimizer_state_.data();
  const DenseUpdate dense_update{p + layer.w_offset, m + layer.w_offset,
                                 m + num_params_ + layer.w_offset, update};
  dense_backward_from_z(x, p + layer.w_offset, d_y, d_w, d_b, d_x, batch, layer.fan_in, width,
                        x_act, slope_, update != nullptr ? &dense_update : nullptr, precision_);
  d_y_is_d_z = fuse_below;
  if (l > 0) std::swap(d_y, spare);
}

}  // namespace gankit
