// Batch normalisation per feature (Ioffe & Szegedy 2015) with the semantics of PyTorch's
// BatchNorm1d, forward and backward over flat row-major buffers.
//
//   z: (rows, features)    gamma, beta, running_mean, running_var: (features)
//   y, d_z, d_y: (rows, features)
//   segments: the rows split into num_segments consecutive blocks of segment_rows[s] rows
//             (summing to rows). Each block is normalised with its own statistics, exactly
//             as if it had been a separate call: a discriminator step runs D once on
//             [x_real; G(z)] but must not mix real and fake statistics.
//   mean, rstd: (num_segments, features), kept by the training forward for backward.
//
// Training, per segment s of n rows and feature j:
//   mean = Σ z / n,   var = Σ (z - mean)² / n   (biased),   rstd = 1 / sqrt(var + eps)
//   z_hat = (z - mean) rstd,   y = gamma z_hat + beta
//   running_mean = (1 - momentum) running_mean + momentum mean
//   running_var  = (1 - momentum) running_var  + momentum var n / (n - 1)   (unbiased)
//   (running statistics updated once per segment, in segment order)
// Backward (training), with every sum over the rows of one segment:
//   d_beta = Σ_all d_y,   d_gamma = Σ_all d_y z_hat   (over all segments)
//   d_z = gamma rstd (d_y - Σ d_y / n - z_hat Σ (d_y z_hat) / n)
// Inference: y = gamma (z - running_mean) / sqrt(running_var + eps) + beta, and backward
//   d_z = d_y gamma / sqrt(running_var + eps), d_gamma = Σ d_y z_hat, d_beta = Σ d_y.
//
// A training segment needs at least 2 rows: with one row the variance is 0, z_hat is 0
// whatever the input and the unbiased variance divides by 0 (PyTorch raises too). The
// training kernels throw std::invalid_argument naming the segment before writing anything.
//
// Determinism: each feature's sums run over the rows in order, in double, by one thread;
// threads split the features only, so results do not depend on the thread count.
#pragma once
#include <cstdint>

namespace gankit {

// Throws std::invalid_argument unless every segment has at least min_rows rows and
// they sum to rows.
void check_batch_segments(const std::int64_t* segment_rows, std::int64_t num_segments,
                          std::int64_t rows, std::int64_t min_rows);

// running_mean/running_var may both be null: then they are not updated.
void batchnorm_forward_training(const float* z, const float* gamma, const float* beta, float* y,
                                std::int64_t rows, std::int64_t features,
                                const std::int64_t* segment_rows, std::int64_t num_segments,
                                float eps, float momentum, float* mean, float* rstd,
                                float* running_mean, float* running_var);

// d_z may equal d_y (updated in place). d_gamma = d_beta = nullptr skips the parameter
// gradients (the discriminator during the generator step).
void batchnorm_backward_training(const float* z, const float* gamma, const float* mean,
                                 const float* rstd, const float* d_y, float* d_z, float* d_gamma,
                                 float* d_beta, std::int64_t rows, std::int64_t features,
                                 const std::int64_t* segment_rows, std::int64_t num_segments);

void batchnorm_forward_inference(const float* z, const float* gamma, const float* beta,
                                 const float* running_mean, const float* running_var, float* y,
                                 std::int64_t rows, std::int64_t features, float eps);

void batchnorm_backward_inference(const float* z, const float* gamma, const float* running_mean,
                                  const float* running_var, const float* d_y, float* d_z,
                                  float* d_gamma, float* d_beta, std::int64_t rows,
                                  std::int64_t features, float eps);

}  // namespace gankit
