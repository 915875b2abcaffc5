// A multilayer perceptron of blocks. Like llm.c, it owns one allocation for all
// parameters (with a table of per-layer offsets), one of the same layout for their
// gradients, one for optimizer state, one for buffers (batch-norm running statistics)
// and workspaces sized for the largest batch seen, so a training step after the first
// allocates nothing.
//
// Block l maps sizes[l] to sizes[l + 1] units. A hidden block is
//   dense z = x W + b  ->  [batch norm]  ->  activation, or maxout over `pieces`  ->  [dropout]
// and the output block is dense -> output activation. A hidden block with none of batch
// norm, maxout and dropout is one dense layer with bias and activation fused into the
// GEMM's epilogue (the fast path).
//
// Parameter layout, block after block: W_l (fan_in, width) row-major, b_l (width), then for
// batch-norm blocks gamma_l (width) and beta_l (width), where width = units * pieces (the
// dense layer's width; maxout's piece-major columns are described in maxout.h).
// Buffer layout, batch-norm block after block: running_mean_l (width), running_var_l (width).
//
// Modes: training uses batch statistics (and updates the running ones, momentum
// kBatchNormMomentum, PyTorch's semantics) and applies dropout; inference uses the
// running statistics and no dropout. backward() follows the mode of the last forward().
// A training forward can split its batch into segments normalised separately (see
// batchnorm.h); dropout masks come from (dropout seed, call counter, block, element)
// (see dropout.h), and the counter advances once per training forward.
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "gankit/activation.h"
#include "gankit/aligned_buffer.h"
#include "gankit/gemm.h"
#include "gankit/optimizer.h"

namespace gankit {

constexpr float kBatchNormEps = 1e-5f;
constexpr float kBatchNormMomentum = 0.1f;

enum class ForwardMode { inference = 0, training = 1 };

struct DenseLayerSpec {
  std::int64_t fan_in;
  std::int64_t fan_out;  // the dense layer's width: units * pieces
  std::int64_t w_offset;  // into params/grads
  std::int64_t b_offset;
  Activation activation;  // the block's activation (identity for maxout blocks)
};

// What the hidden blocks add to their dense layer (the output block has none of it).
struct HiddenBlockOptions {
  bool batch_norm = false;
  std::int64_t pieces = 1;  // maxout pieces; 1 = no maxout
  float dropout = 0.0f;     // dropout rate in [0, 1); 0 = none
};

// One block's entry in the table, beside its DenseLayerSpec.
struct BlockSpec {
  std::int64_t units;  // the block's output width, sizes[l + 1]
  std::int64_t pieces;
  bool batch_norm;
  std::int64_t gamma_offset;  // into params/grads; -1 without batch norm
  std::int64_t beta_offset;
  std::int64_t running_mean_offset;  // into buffers; -1 without batch norm
  std::int64_t running_var_offset;
  float dropout;

  // Dense layer only: bias and activation fused into the GEMM.
  bool fused() const { return !batch_norm && pieces == 1 && dropout == 0.0f; }
};

class Mlp {
 public:
  // sizes = [input, hidden..., output], at least two entries, all >= 1. Maxout blocks
  // (options.pieces > 1) need hidden = identity: the max is their nonlinearity.
  Mlp(const std::vector<std::int64_t>& sizes, Activation hidden, Activation output,
      float slope, const HiddenBlockOptions& options = HiddenBlockOptions{});

  std::int64_t input_dim() const { return sizes_.front(); }
  std::int64_t output_dim() const { return sizes_.back(); }
  const std::vector<std::int64_t>& sizes() const { return sizes_; }
  const std::vector<DenseLayerSpec>& layers() const { return layers_; }
  const std::vector<BlockSpec>& blocks() const { return blocks_; }
  Activation hidden_activation() const { return hidden_; }
  Activation output_activation() const { return output_; }
  float slope() const { return slope_; }
  const HiddenBlockOptions& hidden_options() const { return options_; }
  bool has_batch_norm() const { return num_buffers_ > 0; }
  bool has_dropout() const { return options_.dropout > 0.0f && layers_.size() > 1; }

  // The arithmetic of the dense layers' products (gemm.h), fp32 unless set. bf16 rounds
  // their operands to bfloat16; parameters, gradients, optimizer state and every
  // element-wise step stay fp32. set_precision(bf16) throws std::invalid_argument on a
  // CPU without a bf16 kernel.
  GemmPrecision precision() const { return precision_; }
  void set_precision(GemmPrecision precision);

  std::int64_t num_params() const { return num_params_; }
  float* params() { return params_.data(); }
  const float* params() const { return params_.data(); }
  float* grads() { return grads_.data(); }
  std::int64_t num_buffers() const { return num_buffers_; }
  float* buffers() { return buffers_.data(); }
  const float* buffers() const { return buffers_.data(); }

  // Glorot-uniform weights, zero biases, gamma 1, beta 0, running mean 0 and variance 1,
  // from a seed. (The dropout state is left alone.)
  void init_glorot(std::uint64_t seed);

  // Dropout masks are a function of (seed, counter); the counter counts training forwards.
  std::uint64_t dropout_seed() const { return dropout_seed_; }
  std::uint64_t dropout_counter() const { return dropout_counter_; }
  void set_dropout_state(std::uint64_t seed, std::uint64_t counter);

  void configure_optimizer(const OptimizerConfig& config);  // resets state and step
  const OptimizerConfig& optimizer() const { return optimizer_; }
  std::int64_t optimizer_step() const { return optimizer_step_; }
  void set_optimizer_step(std::int64_t step);
  float* optimizer_state() { return optimizer_state_.data(); }
  std::int64_t optimizer_state_size() const;
  void optimizer_update();  // one update of params from grads

  // x: (batch, input_dim); must stay valid until backward(). Keeps what backward needs.
  // Returns the network output (batch, output_dim), valid until the next forward().
  const float* forward(const float* x, std::int64_t batch,
                       ForwardMode mode = ForwardMode::inference);

  // The same, with the batch split into consecutive segments of segment_rows[s] rows that
  // batch norm normalises separately (in training mode). Throws std::invalid_argument,
  // before changing anything, when a segment is empty or, with batch norm in training
  // mode, has fewer than 2 rows.
  const float* forward_segments(const float* x, const std::int64_t* segment_rows,
                                std::int64_t num_segments, ForwardMode mode);

  // After forward() on the same batch. d_output: (batch, output_dim), the gradient of the
  // loss w.r.t. the network output. Writes parameter gradients when want_param_grads, and
  // the input gradient (batch, input_dim) to d_input unless it is null.
  void backward(const float* d_output, bool want_param_grads, float* d_input);

  // backward(d_output, true, d_input) then optimizer_update(), with the same results to
  // the bit; with Adam, each layer's update is applied to its weight gradient block by
  // block as the GEMM produces it (fused_update, on by default; off: the two calls).
  void backward_and_update(const float* d_output, float* d_input);
  void set_fused_update(bool on) { fused_update_ = on; }

  std::atomic<bool>& busy_flag() { return busy_; }

 private:
  // Per-block workspaces, each sized for batch_capacity_ rows (grow-only).
  struct BlockWorkspace {
    AlignedBuffer dense_out;  // (batch, width): x W + b, activation fused on the fast path
    AlignedBuffer bn_out;     // (batch, width): act(BN(dense_out))          [batch norm]
    AlignedBuffer bn_mean;    // (segments, width): per-segment statistics   [batch norm]
    AlignedBuffer bn_rstd;
    AlignedBuffer max_out;    // (batch, units)                              [maxout]
    AlignedBuffer argmax;     // (batch, units) bytes: winning pieces        [maxout]
    AlignedBuffer drop_out;   // (batch, units)                              [dropout]
    AlignedBuffer mask;       // (batch, units) bytes: 1 = kept              [dropout]
    const float* output = nullptr;  // the block's output in the last forward
  };

  void reserve_batch(std::int64_t batch, std::int64_t num_segments);
  const float* forward_block(std::size_t l, const float* x, std::uint64_t dropout_call);
  void backward_block(std::size_t l, const float* x, float*& d_y, float*& spare,
                      bool& d_y_is_d_z, bool want_param_grads, float* d_input,
                      const AdamFactors* update);
  void backward_pass(const float* d_output, bool want_param_grads, float* d_input,
                     const AdamFactors* update);
  // Dense and activation only: no batch norm, maxout, or dropout active in this pass.
  bool is_plain(const BlockSpec& block) const;
  bool dropout_active(const BlockSpec& block) const;

  std::vector<std::int64_t> sizes_;
  std::vector<DenseLayerSpec> layers_;
  std::vector<BlockSpec> blocks_;
  Activation hidden_;
  Activation output_;
  float slope_;
  HiddenBlockOptions options_;
  std::int64_t num_params_ = 0;
  std::int64_t num_buffers_ = 0;
  std::int64_t max_width_ = 0;  // widest activation or dense layer, for the gradient buffers

  AlignedBuffer params_;
  AlignedBuffer grads_;
  AlignedBuffer buffers_;
  AlignedBuffer optimizer_state_;
  OptimizerConfig optimizer_;
  std::int64_t optimizer_step_ = 0;
  bool fused_update_ = true;
  GemmPrecision precision_ = GemmPrecision::fp32;
  std::uint64_t dropout_seed_ = 0;
  std::uint64_t dropout_counter_ = 0;

  // Workspaces and what the last forward saw (backward replays it).
  std::int64_t batch_capacity_ = 0;
  std::int64_t segment_capacity_ = 0;
  std::int64_t forward_batch_ = 0;
  ForwardMode forward_mode_ = ForwardMode::inference;
  std::vector<std::int64_t> segment_rows_;
  const float* forward_input_ = nullptr;
  std::vector<BlockWorkspace> workspaces_;
  AlignedBuffer grad_ping_;  // two gradient buffers (capacity batch x max_width_)
  AlignedBuffer grad_pong_;

  std::atomic<bool> busy_{false};
};

}  // namespace gankit
