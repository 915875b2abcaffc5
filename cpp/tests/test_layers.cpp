// C++-only tests of the batch-norm, maxout and dropout kernels against naive double
// references written here from the formulas, finite differences, and the MLP and GAN
// steps built from them (gradients, thread determinism, no allocations).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "gankit/aligned_buffer.h"
#include "gankit/batchnorm.h"
#include "gankit/dropout.h"
#include "gankit/gan.h"
#include "gankit/maxout.h"
#include "gankit/mlp.h"
#include "gankit/rng.h"
#include "gankit/threads.h"
#include "test_harness.h"

using namespace gankit;

namespace {

std::vector<float> normal(std::int64_t n, std::uint64_t seed, float scale = 1.0f, float shift = 0.0f) {
  std::vector<float> out(static_cast<std::size_t>(n));
  Rng rng(seed);
  rng.fill_normal(out.data(), n);
  for (float& v : out) v = v * scale + shift;
  return out;
}

// Training-mode batch norm of one segment [r0, r0 + n), in double, straight from the
// definition; y is written for those rows.
void naive_batchnorm_segment(const std::vector<double>& z, std::int64_t features, std::int64_t r0,
                             std::int64_t n, const std::vector<double>& gamma,
                             const std::vector<double>& beta, double eps, std::vector<double>& y,
                             std::vector<double>& mean, std::vector<double>& var) {
  mean.assign(features, 0.0);
  var.assign(features, 0.0);
  for (std::int64_t j = 0; j < features; ++j) {
    for (std::int64_t r = r0; r < r0 + n; ++r) mean[j] += z[r * features + j];
    mean[j] /= n;
    for (std::int64_t r = r0; r < r0 + n; ++r) {
      const double d = z[r * features + j] - mean[j];
      var[j] += d * d;
    }
    var[j] /= n;
    for (std::int64_t r = r0; r < r0 + n; ++r)
      y[r * features + j] = gamma[j] * (z[r * features + j] - mean[j]) / std::sqrt(var[j] + eps) + beta[j];
  }
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// sum(w * BN(z)) over all segments, in double: a scalar loss for finite differences.
double batchnorm_loss(const std::vector<double>& z, std::int64_t features,
                      const std::vector<std::int64_t>& segments, const std::vector<double>& gamma,
                      const std::vector<double>& beta, const std::vector<double>& weights) {
  std::vector<double> y(z.size()), mean, var;
  std::int64_t r0 = 0;
  for (std::int64_t n : segments) {
    naive_batchnorm_segment(z, features, r0, n, gamma, beta, 1e-5, y, mean, var);
    r0 += n;
  }
  double loss = 0;
  for (std::size_t i = 0; i < y.size(); ++i) loss += y[i] * weights[i];
  return loss;
}

}  // namespace

TEST_CASE(batchnorm_training_forward_matches_naive_per_segment) {
  // Widths around the 64-feature chunks; unequal segments.
  for (std::int64_t features : {1, 7, 64, 67, 130}) {
    const std::vector<std::int64_t> segments{5, 2, 11};
    const std::int64_t rows = 18;
    const std::vector<float> z = normal(rows * features, 1 + features, 2.0f, 3.0f);
    const std::vector<float> gamma = normal(features, 2), beta = normal(features, 3);
    std::vector<float> y(z.size()), mean(3 * features), rstd(3 * features);
    std::vector<float> running_mean(features, 0.5f), running_var(features, 2.0f);
    batchnorm_forward_training(z.data(), gamma.data(), beta.data(), y.data(), rows, features,
                               segments.data(), 3, 1e-5f, 0.1f, mean.data(), rstd.data(),
                               running_mean.data(), running_var.data());
    std::vector<double> y_ref(z.size()), m, v;
    std::vector<double> rm_ref(features, 0.5), rv_ref(features, 2.0);
    std::int64_t r0 = 0;
    for (std::size_t s = 0; s < segments.size(); ++s) {
      const std::int64_t n = segments[s];
      naive_batchnorm_segment(as_double(z), features, r0, n, as_double(gamma), as_double(beta), 1e-5,
                              y_ref, m, v);
      for (std::int64_t j = 0; j < features; ++j) {
        CHECK_NEAR(mean[s * features + j], m[j], 1e-5 * (1 + std::fabs(m[j])));
        CHECK_NEAR(rstd[s * features + j], 1 / std::sqrt(v[j] + 1e-5), 1e-4 / std::sqrt(v[j] + 1e-5));
        rm_ref[j] = 0.9 * rm_ref[j] + 0.1 * m[j];
        rv_ref[j] = 0.9 * rv_ref[j] + 0.1 * v[j] * n / (n - 1);
      }
      r0 += n;
    }
    for (std::size_t i = 0; i < y.size(); ++i) CHECK_NEAR(y[i], y_ref[i], 1e-4 * (1 + std::fabs(y_ref[i])));
    for (std::int64_t j = 0; j < features; ++j) {
      CHECK_NEAR(running_mean[j], rm_ref[j], 1e-5 * (1 + std::fabs(rm_ref[j])));
      CHECK_NEAR(running_var[j], rv_ref[j], 1e-5 * (1 + rv_ref[j]));
    }
  }
}

TEST_CASE(batchnorm_training_backward_matches_finite_differences) {
  const std::int64_t features = 3, rows = 7;
  const std::vector<std::int64_t> segments{3, 4};
  const std::vector<float> z = normal(rows * features, 4, 1.5f, -1.0f);
  const std::vector<float> gamma = normal(features, 5, 0.5f, 1.0f), beta = normal(features, 6);
  const std::vector<float> weights = normal(rows * features, 7);
  std::vector<float> y(z.size()), mean(2 * features), rstd(2 * features);
  batchnorm_forward_training(z.data(), gamma.data(), beta.data(), y.data(), rows, features,
                             segments.data(), 2, 1e-5f, 0.1f, mean.data(), rstd.data(), nullptr, nullptr);
  std::vector<float> d_z = weights, d_gamma(features), d_beta(features);  // in place
  batchnorm_backward_training(z.data(), gamma.data(), mean.data(), rstd.data(), d_z.data(), d_z.data(),
                              d_gamma.data(), d_beta.data(), rows, features, segments.data(), 2);
  const std::vector<double> zd = as_double(z), gd = as_double(gamma), bd = as_double(beta);
  const std::vector<double> wd = as_double(weights);
  const double h = 1e-6;
  for (std::size_t i = 0; i < zd.size(); ++i) {
    std::vector<double> plus = zd, minus = zd;
    plus[i] += h;
    minus[i] -= h;
    const double fd = (batchnorm_loss(plus, features, segments, gd, bd, wd) -
                       batchnorm_loss(minus, features, segments, gd, bd, wd)) / (2 * h);
    CHECK_NEAR(d_z[i], fd, 1e-3 * (1 + std::fabs(fd)));
  }
  for (std::int64_t j = 0; j < features; ++j) {
    std::vector<double> plus = gd, minus = gd;
    plus[j] += h;
    minus[j] -= h;
    const double fd = (batchnorm_loss(zd, features, segments, plus, bd, wd) -
                       batchnorm_loss(zd, features, segments, minus, bd, wd)) / (2 * h);
    CHECK_NEAR(d_gamma[j], fd, 1e-3 * (1 + std::fabs(fd)));
    double sum_w = 0;
    for (std::int64_t r = 0; r < rows; ++r) sum_w += wd[r * features + j];
    CHECK_NEAR(d_beta[j], sum_w, 1e-5);
  }
}

TEST_CASE(batchnorm_inference_uses_running_statistics) {
  const std::int64_t features = 5, rows = 1;  // inference accepts a single row
  const std::vector<float> z = normal(features, 8), gamma = normal(features, 9), beta = normal(features, 10);
  const std::vector<float> rm = normal(features, 11);
  std::vector<float> rv = normal(features, 12);
  for (float& v : rv) v = std::fabs(v) + 0.1f;
  std::vector<float> y(features), d_y = normal(features, 13), d_z(features), d_gamma(features), d_beta(features);
  batchnorm_forward_inference(z.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y.data(),
                              rows, features, 1e-5f);
  batchnorm_backward_inference(z.data(), gamma.data(), rm.data(), rv.data(), d_y.data(), d_z.data(),
                               d_gamma.data(), d_beta.data(), rows, features, 1e-5f);
  for (std::int64_t j = 0; j < features; ++j) {
    const double rstd = 1 / std::sqrt(double(rv[j]) + 1e-5);
    const double z_hat = (double(z[j]) - rm[j]) * rstd;
    CHECK_NEAR(y[j], gamma[j] * z_hat + beta[j], 1e-5 * (1 + std::fabs(y[j])));
    CHECK_NEAR(d_z[j], double(d_y[j]) * gamma[j] * rstd, 1e-5 * (1 + std::fabs(d_z[j])));
    CHECK_NEAR(d_gamma[j], double(d_y[j]) * z_hat, 1e-5 * (1 + std::fabs(d_gamma[j])));
    CHECK_NEAR(d_beta[j], d_y[j], 1e-7);
  }
}

TEST_CASE(batchnorm_training_refuses_single_row_segments_before_writing) {
  const std::int64_t features = 2;
  const std::vector<std::int64_t> segments{3, 1};
  const std::vector<float> z = normal(4 * features, 14), gamma(features, 1.0f), beta(features, 0.0f);
  std::vector<float> y(z.size(), -7.0f), mean(4, -7.0f), rstd(4, -7.0f);
  std::vector<float> rm(features, 0.25f), rv(features, 4.0f);
  CHECK_THROWS(batchnorm_forward_training(z.data(), gamma.data(), beta.data(), y.data(), 4, features,
                                          segments.data(), 2, 1e-5f, 0.1f, mean.data(), rstd.data(),
                                          rm.data(), rv.data()),
               std::invalid_argument);
  CHECK(std::all_of(y.begin(), y.end(), [](float v) { return v == -7.0f; }));
  CHECK(rm[0] == 0.25f && rv[1] == 4.0f);
  const std::vector<std::int64_t> wrong_sum{3, 3};
  CHECK_THROWS(check_batch_segments(wrong_sum.data(), 2, 4, 1), std::invalid_argument);
}

TEST_CASE(maxout_matches_naive_and_lowest_piece_wins_ties) {
  for (std::int64_t pieces : {1, 2, 3, 5, 8}) {
    const std::int64_t rows = 9, units = 13, width = units * pieces;
    std::vector<float> z = normal(rows * width, 15 + pieces);
    // Round to a coarse grid so ties happen often.
    for (float& v : z) v = std::round(v * 2.0f) / 2.0f;
    std::vector<float> h(rows * units), d_h = normal(rows * units, 16), d_z(z.size());
    std::vector<std::uint8_t> argmax(rows * units);
    maxout_forward(z.data(), h.data(), argmax.data(), rows, units, pieces);
    maxout_backward(d_h.data(), argmax.data(), d_z.data(), rows, units, pieces);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < units; ++j) {
        std::int64_t best = 0;
        for (std::int64_t p = 1; p < pieces; ++p)
          if (z[r * width + p * units + j] > z[r * width + best * units + j]) best = p;
        CHECK(h[r * units + j] == z[r * width + best * units + j]);
        CHECK(argmax[r * units + j] == best);
        for (std::int64_t p = 0; p < pieces; ++p)
          CHECK(d_z[r * width + p * units + j] == (p == best ? d_h[r * units + j] : 0.0f));
      }
  }
  CHECK_THROWS(validate_maxout_pieces(0), std::invalid_argument);
  CHECK_THROWS(validate_maxout_pieces(65), std::invalid_argument);
}

TEST_CASE(dropout_masks_are_reproducible_thread_independent_and_keep_one_minus_p) {
  const std::int64_t n = 200003;
  const std::vector<float> x = normal(n, 17);
  const int saved = num_threads();
  std::vector<float> y1(n), y2(n);
  std::vector<std::uint8_t> m1(n), m2(n);
  set_num_threads(1);
  dropout_forward(x.data(), y1.data(), m1.data(), n, 0.3f, 42, 7, 2);
  set_num_threads(2);
  dropout_forward(x.data(), y2.data(), m2.data(), n, 0.3f, 42, 7, 2);
  set_num_threads(saved);
  CHECK(y1 == y2 && m1 == m2);
  std::int64_t kept = 0;
  const float scale = dropout_scale(0.3f);
  for (std::int64_t i = 0; i < n; ++i) {
    kept += m1[i];
    CHECK(y1[i] == (m1[i] ? x[i] * scale : 0.0f));
  }
  // Binomial(n, 0.7): std ~ 205; 6 std either side.
  CHECK_NEAR(static_cast<double>(kept), 0.7 * n, 6 * std::sqrt(n * 0.21));
  // Another counter or layer gives another mask.
  dropout_forward(x.data(), y2.data(), m2.data(), n, 0.3f, 42, 8, 2);
  CHECK(m1 != m2);
  dropout_forward(x.data(), y2.data(), m2.data(), n, 0.3f, 42, 7, 3);
  CHECK(m1 != m2);
  // p = 0 is the identity.
  dropout_forward(x.data(), y2.data(), m2.data(), n, 0.0f, 42, 7, 2);
  CHECK(y2 == x);
  std::vector<float> d_x(n);
  dropout_backward(x.data(), m1.data(), d_x.data(), n, 0.3f);
  CHECK(d_x == y1);  // the same linear map
  CHECK_THROWS(validate_dropout_rate(1.0f), std::invalid_argument);
  CHECK_THROWS(validate_dropout_rate(-0.1f), std::invalid_argument);
}

namespace {

HiddenBlockOptions all_layers(bool batch_norm, std::int64_t pieces, float dropout) {
  HiddenBlockOptions options;
  options.batch_norm = batch_norm;
  options.pieces = pieces;
  options.dropout = dropout;
  return options;
}

// sum(out * weights) in training mode with the dropout counter reset, so every call
// sees the same masks.
double training_loss(Mlp& net, const std::vector<float>& x, const std::vector<std::int64_t>& segments,
                     const std::vector<float>& weights) {
  net.set_dropout_state(net.dropout_seed(), 0);
  const float* out = net.forward_segments(x.data(), segments.data(),
                                          static_cast<std::int64_t>(segments.size()), ForwardMode::training);
  double s = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) s += double(out[i]) * weights[i];
  return s;
}

}  // namespace

TEST_CASE(mlp_with_batchnorm_maxout_dropout_gradients_match_finite_differences) {
  // Batch norm then maxout then dropout in the hidden blocks; two unequal segments.
  Mlp net({3, 4, 5, 2}, Activation::identity, Activation::tanh, 0.2f, all_layers(true, 3, 0.25f));
  net.init_glorot(5);
  net.set_dropout_state(99, 0);
  const std::vector<std::int64_t> segments{4, 3};
  const std::int64_t batch = 7;
  const std::vector<float> x = normal(batch * 3, 18), weights = normal(batch * 2, 19);
  std::vector<float> d_input(batch * 3);
  training_loss(net, x, segments, weights);
  net.backward(weights.data(), true, d_input.data());
  const std::vector<float> grads(net.grads(), net.grads() + net.num_params());
  const double center = training_loss(net, x, segments, weights);
  std::int64_t checked = 0;
  for (std::int64_t i = 0; i < net.num_params(); ++i) {
    const float saved = net.params()[i], h = 1e-2f;
    net.params()[i] = saved + h;
    const double plus = training_loss(net, x, segments, weights);
    net.params()[i] = saved - h;
    const double minus = training_loss(net, x, segments, weights);
    net.params()[i] = saved;
    // A step that moves a maxout winner crosses a kink: the second difference, O(h^2)
    // where the loss is smooth, is then O(h). Those parameters are skipped (few).
    if (std::fabs(plus + minus - 2 * center) > 1e-3) continue;
    CHECK_NEAR(grads[i], (plus - minus) / (2 * h), 5e-3);
    ++checked;
  }
  CHECK(checked > net.num_params() * 9 / 10);
}

TEST_CASE(mlp_refuses_single_row_training_batch_norm_without_changing_state) {
  Mlp net({2, 6, 1}, Activation::relu, Activation::identity, 0.2f, all_layers(true, 1, 0.5f));
  const std::vector<float> before(net.buffers(), net.buffers() + net.num_buffers());
  const std::vector<float> x(2 * 2, 1.0f);
  const std::int64_t one_row[2] = {1, 1};
  CHECK_THROWS(net.forward_segments(x.data(), one_row, 2, ForwardMode::training), std::invalid_argument);
  CHECK(std::equal(before.begin(), before.end(), net.buffers()));
  CHECK(net.dropout_counter() == 0);
  net.forward(x.data(), 1, ForwardMode::inference);  // inference needs no batch statistics
  net.forward(x.data(), 2, ForwardMode::training);
  CHECK(net.dropout_counter() == 1);
  CHECK(!std::equal(before.begin(), before.end(), net.buffers()));
  CHECK_THROWS(Mlp({2, 3, 1}, Activation::relu, Activation::identity, 0.2f, all_layers(false, 2, 0.0f)),
               std::invalid_argument);  // maxout is its own nonlinearity
}

namespace {

struct LayeredTrace {
  std::vector<double> values;
  std::vector<float> g_params, d_params, g_buffers;
};

LayeredTrace run_layered_gan(int threads) {
  set_num_threads(threads);
  auto g = std::make_shared<Mlp>(std::vector<std::int64_t>{16, 256, 256, 8}, Activation::relu,
                                 Activation::identity, 0.2f, all_layers(true, 1, 0.2f));
  auto d = std::make_shared<Mlp>(std::vector<std::int64_t>{8, 200, 200, 1}, Activation::identity,
                                 Activation::identity, 0.2f, all_layers(true, 5, 0.3f));
  g->init_glorot(1);
  d->init_glorot(2);
  g->set_dropout_state(3, 0);
  d->set_dropout_state(4, 0);
  Gan gan(g, d, 16, GeneratorLoss::non_saturating, NoiseKind::normal, 7);
  const std::vector<float> x_real = normal(150 * 8, 20);
  LayeredTrace trace;
  for (int it = 0; it < 3; ++it) {
    const DStepResult r = gan.d_step(x_real.data(), 150, nullptr, 106);
    const GStepResult s = gan.g_step(nullptr, 128);
    trace.values.insert(trace.values.end(), {r.d_loss, r.d_real, r.d_fake, s.g_loss, s.d_fake});
  }
  trace.g_params.assign(g->params(), g->params() + g->num_params());
  trace.d_params.assign(d->params(), d->params() + d->num_params());
  trace.g_buffers.assign(g->buffers(), g->buffers() + g->num_buffers());
  return trace;
}

}  // namespace

TEST_CASE(gan_with_all_layers_bitwise_identical_across_thread_counts) {
  const int saved = num_threads();
  const LayeredTrace one = run_layered_gan(1);
  const LayeredTrace two = run_layered_gan(2);
  set_num_threads(saved);
  CHECK(one.values == two.values);
  CHECK(one.g_params == two.g_params);
  CHECK(one.d_params == two.d_params);
  CHECK(one.g_buffers == two.g_buffers);
  for (double v : one.values) CHECK(std::isfinite(v));
}

TEST_CASE(gan_with_all_layers_steady_state_allocates_nothing) {
  auto g = std::make_shared<Mlp>(std::vector<std::int64_t>{2, 32, 32, 2}, Activation::relu,
                                 Activation::identity, 0.2f, all_layers(true, 1, 0.1f));
  auto d = std::make_shared<Mlp>(std::vector<std::int64_t>{2, 24, 1}, Activation::identity,
                                 Activation::identity, 0.2f, all_layers(true, 4, 0.2f));
  Gan gan(g, d, 2, GeneratorLoss::minimax, NoiseKind::normal, 1);
  const std::vector<float> x(64 * 2, 0.5f);
  gan.d_step(x.data(), 64, nullptr, 64);
  gan.g_step(nullptr, 64);
  std::vector<float> samples(64 * 2), probs(64);
  gan.generate(nullptr, 64, samples.data());
  gan.discriminate(x.data(), 64, probs.data());
  const std::int64_t before = allocation_count();
  for (int i = 0; i < 10; ++i) {
    gan.d_step(x.data(), 64, nullptr, 64);
    gan.g_step(nullptr, 64);
    gan.generate(nullptr, 64, samples.data());
    gan.discriminate(x.data(), 64, probs.data());
  }
  CHECK(allocation_count() == before);
  CHECK_THROWS(gan.d_step(x.data(), 1, nullptr, 64), std::invalid_argument);
  CHECK_THROWS(gan.g_step(nullptr, 1), std::invalid_argument);
}
