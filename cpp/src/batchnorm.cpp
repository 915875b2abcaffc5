// Batch normalisation forward/backward (formulas and shapes in batchnorm.h).
//
// Work is split into chunks of kChunk features. A chunk walks the rows of each segment in
// order, accumulating per-feature sums in double on the stack, so a step allocates
// nothing and each feature's sums see the same order at any thread count; threads take
// whole chunks.
#include "gankit/batchnorm.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gankit/threads.h"

namespace gankit {

namespace {

// Features per chunk: its double accumulators stay in L1, and a row's chunk is one or
// more whole cache lines.
constexpr std::int64_t kChunk = 64;

// Runs fn(first_feature, end_feature) over all chunks, in parallel when the work is
// large. fn must not throw (it runs inside an OpenMP region).
template <typename ChunkFn>
void for_each_chunk(std::int64_t rows, std::int64_t features, double flops_per_element,
                    ChunkFn fn) {
  const std::int64_t chunks = (features + kChunk - 1) / kChunk;
  const double flops_per_chunk =
      flops_per_element * static_cast<double>(rows) * static_cast<double>(std::min(features, kChunk));
  const int nt = threads_for(chunks, flops_per_chunk);
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (std::int64_t c = 0; c < chunks; ++c)
    fn(c * kChunk, std::min(features, (c + 1) * kChunk));
}

void check_shape(std::int64_t rows, std::int64_t features) {
  if (rows < 1 || features < 1)
    throw std::invalid_argument("batch norm: expected rows >= 1 and features >= 1, got " +
                                std::to_string(rows) + " x " + std::to_string(features));
}

void check_eps(float eps) {
  if (!(std::isfinite(eps) && eps > 0.0f))
    throw std::invalid_argument("eps: expected a finite number > 0, got " + std::to_string(eps));
}

// One chunk of the training forward: statistics, normalisation and running update for
// features [j0, j1) of every segment.
struct ForwardTraining {
  const float* z;
  const float* gamma;
  const float* beta;
  float* y;
  std::int64_t features;
  const std::int64_t* segment_rows;
  std::int64_t num_segments;
  double eps;
  double momentum;
  float* mean;
  float* rstd;
  float* running_mean;
  float* running_var;

  void operator()(std::int64_t j0, std::int64_t j1) const {
    const std::int64_t width = j1 - j0;
    double sum[kChunk], sum_sq[kChunk];
    std::int64_t first_row = 0;
    for (std::int64_t s = 0; s < num_segments; ++s) {
      const std::int64_t n = segment_rows[s];
      const std::int64_t end_row = first_row + n;
      std::fill_n(sum, width, 0.0);
      for (std::int64_t r = first_row; r < end_row; ++r) {
        const float* z_row = z + r * features + j0;
        for (std::int64_t k = 0; k < width; ++k) sum[k] += z_row[k];
      }
      for (std::int64_t k = 0; k < width; ++k) sum[k] /= static_cast<double>(n);  // now the mean
      // Two passes (mean first): no cancellation when |mean| >> std.
      std::fill_n(sum_sq, width, 0.0);
      for (std::int64_t r = first_row; r < end_row; ++r) {
        const float* z_row = z + r * features + j0;
        for (std::int64_t k = 0; k < width; ++k) {
          const double d = z_row[k] - sum[k];
          sum_sq[k] += d * d;
        }
      }
      float* mean_s = mean + s * features + j0;
      float* rstd_s = rstd + s * features + j0;
      for (std::int64_t k = 0; k < width; ++k) {
        const double var = sum_sq[k] / static_cast<double>(n);
        mean_s[k] = static_cast<float>(sum[k]);
        rstd_s[k] = static_cast<float>(1.0 / std::sqrt(var + eps));
        if (running_mean != nullptr) {
          const std::int64_t j = j0 + k;
          const double unbiased = var * static_cast<double>(n) / static_cast<double>(n - 1);
          running_mean[j] = static_cast<float>((1.0 - momentum) * running_mean[j] + momentum * sum[k]);
          running_var[j] = static_cast<float>((1.0 - momentum) * running_var[j] + momentum * unbiased);
        }
      }
      const float* g = gamma + j0;
      const float* b = beta + j0;
      for (std::int64_t r = first_row; r < end_row; ++r) {
        const float* z_row = z + r * features + j0;
        float* y_row = y + r * features + j0;
        for (std::int64_t k = 0; k < width; ++k)
          y_row[k] = g[k] * ((z_row[k] - mean_s[k]) * rstd_s[k]) + b[k];
      }
      first_row = end_row;
    }
  }
};

struct BackwardTraining {
  const float* z;
  const float* gamma;
  const float* mean;
  const float* rstd;
  const float* d_y;
  float* d_z;
  float* d_gamma;
  float* d_beta;
  std::int64_t features;
  const std::int64_t* segment_rows;
  std::int64_t num_segments;

  void operator()(std::int64_t j0, std::int64_t j1) const {
    const std::int64_t width = j1 - j0;
    double total_dy[kChunk], total_dy_zhat[kChunk];  // over all segments: d_beta, d_gamma
    double sum_dy[kChunk], sum_dy_zhat[kChunk];      // over one segment
    float mean_dy[kChunk], mean_dy_zhat[kChunk], scale[kChunk];
    std::fill_n(total_dy, width, 0.0);
    std::fill_n(total_dy_zhat, width, 0.0);
    std::int64_t first_row = 0;
    for (std::int64_t s = 0; s < num_segments; ++s) {
      const std::int64_t n = segment_rows[s];
      const std::int64_t end_row = first_row + n;
      const float* mean_s = mean + s * features + j0;
      const float* rstd_s = rstd + s * features + j0;
      std::fill_n(sum_dy, width, 0.0);
      std::fill_n(sum_dy_zhat, width, 0.0);
      for (std::int64_t r = first_row; r < end_row; ++r) {
        const float* z_row = z + r * features + j0;
        const float* dy_row = d_y + r * features + j0;
        for (std::int64_t k = 0; k < width; ++k) {
          const float z_hat = (z_row[k] - mean_s[k]) * rstd_s[k];  // as the forward made it
          sum_dy[k] += dy_row[k];
          sum_dy_zhat[k] += static_cast<double>(dy_row[k]) * z_hat;
        }
      }
      for (std::int64_t k = 0; k < width; ++k) {
        total_dy[k] += sum_dy[k];
        total_dy_zhat[k] += sum_dy_zhat[k];
        mean_dy[k] = static_cast<float>(sum_dy[k] / static_cast<double>(n));
        mean_dy_zhat[k] = static_cast<float>(sum_dy_zhat[k] / static_cast<double>(n));
        scale[k] = gamma[j0 + k] * rstd_s[k];
      }
      // Reads d_y[r][j] before writing d_z[r][j]: safe in place.
      for (std::int64_t r = first_row; r < end_row; ++r) {
        const float* z_row = z + r * features + j0;
        const float* dy_row = d_y + r * features + j0;
        float* dz_row = d_z + r * features + j0;
        for (std::int64_t k = 0; k < width; ++k) {
          const float z_hat = (z_row[k] - mean_s[k]) * rstd_s[k];
          dz_row[k] = scale[k] * ((dy_row[k] - mean_dy[k]) - z_hat * mean_dy_zhat[k]);
        }
      }
      first_row = end_row;
    }
    if (d_gamma != nullptr)
      for (std::int64_t k = 0; k < width; ++k) d_gamma[j0 + k] = static_cast<float>(total_dy_zhat[k]);
    if (d_beta != nullptr)
      for (std::int64_t k = 0; k < width; ++k) d_beta[j0 + k] = static_cast<float>(total_dy[k]);
  }
};

// 1 / sqrt(running_var + eps) for features [j0, j1), as the inference passes use it.
void running_rstd(const float* running_var, double eps, std::int64_t j0, std::int64_t j1,
                  float* out) {
  for (std::int64_t j = j0; j < j1; ++j)
    out[j - j0] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var[j]) + eps));
}

}  // namespace

void check_batch_segments(const std::int64_t* segment_rows, std::int64_t num_segments,
                          std::int64_t rows, std::int64_t min_rows) {
  if (num_segments < 1 || segment_rows == nullptr)
    throw std::invalid_argument("segments: expected at least one segment, got " +
                                std::to_string(num_segments));
  std::int64_t total = 0;
  for (std::int64_t s = 0; s < num_segments; ++s) {
    if (segment_rows[s] < min_rows)
      throw std::invalid_argument(
          "segment " + std::to_string(s) + ": expected at least " + std::to_string(min_rows) +
          (min_rows >= 2 ? " rows (training-mode batch normalisation divides by the segment's "
                           "variance, which one row does not have)"
                         : " row") +
          ", got " + std::to_string(segment_rows[s]));
    total += segment_rows[s];
  }
  if (total != rows)
    throw std::invalid_argument("segments: expected row counts summing to the batch's " +
                                std::to_string(rows) + " rows, got a sum of " +
                                std::to_string(total));
}

void batchnorm_forward_training(const float* z, const float* gamma, const float* beta, float* y,
                                std::int64_t rows, std::int64_t features,
                                const std::int64_t* segment_rows, std::int64_t num_segments,
                                float eps, float momentum, float* mean, float* rstd,
                                float* running_mean, float* running_var) {
  check_shape(rows, features);
  check_batch_segments(segment_rows, num_segments, rows, 2);
  check_eps(eps);
  if (!(momentum >= 0.0f && momentum <= 1.0f))
    throw std::invalid_argument("momentum: expected 0 <= momentum <= 1, got " + std::to_string(momentum));
  if ((running_mean == nullptr) != (running_var == nullptr))
    throw std::invalid_argument("running_mean, running_var: expected both or neither");
  const ForwardTraining chunk{z, gamma, beta, y, features, segment_rows, num_segments, eps,
                              momentum, mean, rstd, running_mean, running_var};
  for_each_chunk(rows, features, 10.0, chunk);
}

void batchnorm_backward_training(const float* z, const float* gamma, const float* mean,
                                 const float* rstd, const float* d_y, float* d_z, float* d_gamma,
                                 float* d_beta, std::int64_t rows, std::int64_t features,
                                 const std::int64_t* segment_rows, std::int64_t num_segments) {
  check_shape(rows, features);
  check_batch_segments(segment_rows, num_segments, rows, 2);
  const BackwardTraining chunk{z, gamma, mean, rstd, d_y, d_z, d_gamma, d_beta, features,
                               segment_rows, num_segments};
  for_each_chunk(rows, features, 12.0, chunk);
}

void batchnorm_forward_inference(const float* z, const float* gamma, const float* beta,
                                 const float* running_mean, const float* running_var, float* y,
                                 std::int64_t rows, std::int64_t features, float eps) {
  check_shape(rows, features);
  check_eps(eps);
  const double eps_d = eps;
  for_each_chunk(rows, features, 4.0, [=](std::int64_t j0, std::int64_t j1) {
    float rstd[kChunk];
    running_rstd(running_var, eps_d, j0, j1, rstd);
    const std::int64_t width = j1 - j0;
    const float* m = running_mean + j0;
    const float* g = gamma + j0;
    const float* b = beta + j0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* z_row = z + r * features + j0;
      float* y_row = y + r * features + j0;
      for (std::int64_t k = 0; k < width; ++k)
        y_row[k] = g[k] * ((z_row[k] - m[k]) * rstd[k]) + b[k];
    }
  });
}

void batchnorm_backward_inference(const float* z, const float* gamma, const float* running_mean,
                                  const float* running_var, const float* d_y, float* d_z,
                                  float* d_gamma, float* d_beta, std::int64_t rows,
                                  std::int64_t features, float eps) {
  check_shape(rows, features);
  check_eps(eps);
  const double eps_d = eps;
  for_each_chunk(rows, features, 6.0, [=](std::int64_t j0, std::int64_t j1) {
    float rstd[kChunk], scale[kChunk];
    double sum_dy[kChunk], sum_dy_zhat[kChunk];
    running_rstd(running_var, eps_d, j0, j1, rstd);
    const std::int64_t width = j1 - j0;
    const float* m = running_mean + j0;
    for (std::int64_t k = 0; k < width; ++k) scale[k] = gamma[j0 + k] * rstd[k];
    std::fill_n(sum_dy, width, 0.0);
    std::fill_n(sum_dy_zhat, width, 0.0);
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* z_row = z + r * features + j0;
      const float* dy_row = d_y + r * features + j0;
      float* dz_row = d_z + r * features + j0;
      for (std::int64_t k = 0; k < width; ++k) {
        const float dy = dy_row[k];  // read before d_z (which may be d_y) is written
        const float z_hat = (z_row[k] - m[k]) * rstd[k];
        sum_dy[k] += dy;
        sum_dy_zhat[k] += static_cast<double>(dy) * z_hat;
        dz_row[k] = dy * scale[k];
      }
    }
    if (d_gamma != nullptr)
      for (std::int64_t k = 0; k < width; ++k) d_gamma[j0 + k] = static_cast<float>(sum_dy_zhat[k]);
    if (d_beta != nullptr)
      for (std::int64_t k = 0; k < width; ++k) d_beta[j0 + k] = static_cast<float>(sum_dy[k]);
  });
}

}  // namespace gankit
