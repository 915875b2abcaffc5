// A multilayer perceptron of dense layers. Like llm.c, it owns one allocation for all
// parameters (with a table of per-layer offsets), one of the same layout for their
// gradients, one for optimizer state, and workspaces sized for the largest batch seen,
// so a training step after the first allocates nothing.
//
// Parameter layout, layer after layer: W_l (fan_in, fan_out) row-major, then b_l (fan_out).
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "gankit/activation.h"
#include "gankit/aligned_buffer.h"
#include "gankit/optimizer.h"

namespace gankit {

struct DenseLayerSpec {
  std::int64_t fan_in;
  std::int64_t fan_out;
  std::int64_t w_offset;  // into params/grads
  std::int64_t b_offset;
  Activation activation;
};

class Mlp {
 public:
  // sizes = [input, hidden..., output], at least two entries, all >= 1.
  Mlp(const std::vector<std::int64_t>& sizes, Activation hidden, Activation output,
      float slope);

  std::int64_t input_dim() const { return sizes_.front(); }
  std::int64_t output_dim() const { return sizes_.back(); }
  const std::vector<std::int64_t>& sizes() const { return sizes_; }
  const std::vector<DenseLayerSpec>& layers() const { return layers_; }
  Activation hidden_activation() const { return hidden_; }
  Activation output_activation() const { return output_; }
  float slope() const { return slope_; }

  std::int64_t num_params() const { return num_params_; }
  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }

  // Glorot-uniform weights, zero biases, from a seed.
  void init_glorot(std::uint64_t seed);

  void configure_optimizer(const OptimizerConfig& config);  // resets state and step
  const OptimizerConfig& optimizer() const { return optimizer_; }
  std::int64_t optimizer_step() const { return optimizer_step_; }
  void set_optimizer_step(std::int64_t step);
  float* optimizer_state() { return optimizer_state_.data(); }
  std::int64_t optimizer_state_size() const;
  void optimizer_update();  // one update of params from grads

  // x: (batch, input_dim); must stay valid until backward(). Keeps each layer's output.
  // Returns the network output (batch, output_dim), valid until the next forward().
  const float* forward(const float* x, std::int64_t batch);

  // After forward() on the same batch. d_output: (batch, output_dim), the gradient of the
  // loss w.r.t. the network output. Writes parameter gradients when want_param_grads, and
  // the input gradient (batch, input_dim) to d_input unless it is null.
  void backward(const float* d_output, bool want_param_grads, float* d_input);

  std::atomic<bool>& busy_flag() { return busy_; }

 private:
  void reserve_batch(std::int64_t batch);

  std::vector<std::int64_t> sizes_;
  std::vector<DenseLayerSpec> layers_;
  Activation hidden_;
  Activation output_;
  float slope_;
  std::int64_t num_params_ = 0;
  std::int64_t max_width_ = 0;

  AlignedBuffer params_;
  AlignedBuffer grads_;
  AlignedBuffer optimizer_state_;
  OptimizerConfig optimizer_;
  std::int64_t optimizer_step_ = 0;

  // Workspaces: each layer's output (capacity batch x fan_out) and two ping-pong
  // gradient buffers (capacity batch x widest layer).
  std::int64_t batch_capacity_ = 0;
  std::int64_t forward_batch_ = 0;
  const float* forward_input_ = nullptr;
  std::vector<AlignedBuffer> outputs_;
  AlignedBuffer grad_ping_;
  AlignedBuffer grad_pong_;

  std::atomic<bool> busy_{false};
};

}  // namespace gankit
