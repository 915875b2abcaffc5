// C++-only tests of the core above the GEMM: losses, activations, optimizers, RNG, MLP
// gradients by finite differences, and the GAN step (determinism, no allocations).
// The Python suite checks the same kernels against a float64 NumPy reference on many
// shapes; these make `cpp/` testable on its own.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "../src/activation/row_kernels.h"
#include "gankit/activation.h"
#include "gankit/aligned_buffer.h"
#include "gankit/dense.h"
#include "gankit/gan.h"
#include "gankit/gemm.h"
#include "gankit/loss.h"
#include "gankit/mlp.h"
#include "gankit/optimizer.h"
#include "gankit/rng.h"
#include "gankit/threads.h"
#include "test_harness.h"

using namespace gankit;

TEST_CASE(losses_at_zero_logit_are_log2) {
  const float zero[3] = {0, 0, 0};
  float d_real[3], d_fake[3], d_g[3];
  CHECK_NEAR(discriminator_loss(zero, 3, zero, 3, d_real, d_fake), 2 * std::log(2.0), 1e-15);
  CHECK_NEAR(d_real[0], -0.5 / 3, 1e-8);
  CHECK_NEAR(d_fake[2], 0.5 / 3, 1e-8);
  CHECK_NEAR(generator_loss(zero, 3, GeneratorLoss::minimax, d_g), -std::log(2.0), 1e-15);
  CHECK_NEAR(generator_loss(zero, 3, GeneratorLoss::non_saturating, d_g), std::log(2.0), 1e-15);
}

TEST_CASE(losses_finite_and_exact_at_extreme_logits) {
  const float logits[2] = {-1e4f, 1e4f};
  float d[2];
  // -softplus(-1e4) = -log1p(e^-1e4) ~ 0 and -softplus(1e4) = -1e4: mean -5000.
  CHECK_NEAR(generator_loss(logits, 2, GeneratorLoss::minimax, d), -5000.0, 1e-9);
  CHECK_NEAR(d[0], 0.0, 1e-30);
  CHECK_NEAR(d[1], -0.5, 1e-7);
  CHECK_NEAR(generator_loss(logits, 2, GeneratorLoss::non_saturating, d), 5000.0, 1e-9);
  CHECK_NEAR(d[0], -0.5, 1e-7);
  CHECK_NEAR(d[1], 0.0, 1e-30);
  float d_real[2], d_fake[2];
  const double loss = discriminator_loss(logits, 2, logits, 2, d_real, d_fake);
  CHECK(std::isfinite(loss));
  CHECK_NEAR(loss, 10000.0, 1e-9);
}

TEST_CASE(activation_backward_uses_output) {
  const float x[4] = {-2.0f, -0.5f, 0.5f, 2.0f};
  for (Activation act : {Activation::relu, Activation::leaky_relu, Activation::tanh,
                         Activation::sigmoid}) {
    float y[4], d[4];
    const float ones[4] = {1, 1, 1, 1};
    activation_forward(x, y, 4, act, 0.2f);
    activation_backward(y, ones, d, 4, act, 0.2f);
    for (int i = 0; i < 4; ++i) {
      const float h = 1e-3f;
      float xp = x[i] + h, xm = x[i] - h, yp, ym;
      activation_forward(&xp, &yp, 1, act, 0.2f);
      activation_forward(&xm, &ym, 1, act, 0.2f);
      CHECK_NEAR(d[i], (yp - ym) / (2 * h), 2e-3);
    }
  }
  CHECK_THROWS(validate_slope(-0.1f), std::invalid_argument);
  CHECK_THROWS(activation_from_name("swish"), std::invalid_argument);
}

// dense_backward_from_z computes the input gradient as (w d_zᵀ)ᵀ when the batch is small
// next to the layer (no packing of all of w) and directly otherwise; both must give
// bitwise the direct product with the fused derivative, at any thread count. Shapes on
// both sides of the switch, odd sizes, and the skinny edge (4 and 5).
TEST_CASE(dense_input_gradient_bitwise_equal_either_way) {
  struct Shape { std::int64_t batch, fan_in, fan_out; };
  const Shape shapes[] = {{5, 37, 101}, {7, 300, 257}, {13, 64, 1000}, {64, 1024, 784},
                          {5, 5, 300}, {4, 300, 300}, {300, 37, 101}, {17, 129, 17}};
  const Activation acts[] = {Activation::leaky_relu, Activation::tanh, Activation::identity};
  const int initial_threads = num_threads();
  Rng rng(11);
  for (const Shape& s : shapes) {
    std::vector<float> x(s.batch * s.fan_in), w(s.fan_in * s.fan_out), d_z(s.batch * s.fan_out);
    rng.fill_normal(x.data(), static_cast<std::int64_t>(x.size()));
    rng.fill_normal(w.data(), static_cast<std::int64_t>(w.size()));
    rng.fill_normal(d_z.data(), static_cast<std::int64_t>(d_z.size()));
    for (float& v : x) v = std::tanh(v);  // a tanh layer's outputs are in (-1, 1)
    for (Activation act : acts) {
      std::vector<float> direct(s.batch * s.fan_in);
      const GemmEpilogue derivative = activation_derivative_epilogue(x.data(), s.fan_in, act, 0.2f);
      gemm(row_major(d_z.data(), s.batch, s.fan_out), transposed(row_major(w.data(), s.fan_in, s.fan_out)),
           direct.data(), s.fan_in, /*accumulate=*/false, &derivative);
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::vector<float> d_x(s.batch * s.fan_in, -7.0f);
        dense_backward_from_z(x.data(), w.data(), d_z.data(), nullptr, nullptr, d_x.data(),
                              s.batch, s.fan_in, s.fan_out, act, 0.2f);
        CHECK(std::memcmp(d_x.data(), direct.data(), d_x.size() * sizeof(float)) == 0);
      }
      set_num_threads(initial_threads);
    }
  }
}

TEST_CASE(adam_first_step_is_lr_times_sign) {
  float p[3] = {0, 0, 0};
  const float g[3] = {2.0f, -0.25f, 1e-3f};
  float m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
  adam_step(p, g, m, v, 3, 1, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f);
  CHECK_NEAR(p[0], -0.01, 1e-6);
  CHECK_NEAR(p[1], 0.01, 1e-6);
  CHECK_NEAR(p[2], -0.01, 1e-4);
}

TEST_CASE(sgd_momentum_accumulates) {
  float p[1] = {1.0f}, velocity[1] = {0.0f};
  const float g[1] = {1.0f};
  sgd_step(p, g, velocity, 1, 0.1f, 0.9f, 0.0f);  // v = 1, p = 0.9
  sgd_step(p, g, velocity, 1, 0.1f, 0.9f, 0.0f);  // v = 1.9, p = 0.71
  CHECK_NEAR(p[0], 0.71, 1e-6);
  CHECK_NEAR(velocity[0], 1.9, 1e-6);
}

TEST_CASE(rng_reproducible_and_normal) {
  Rng a(1), b(1);
  std::vector<float> x(100001), y(100001);
  a.fill_normal(x.data(), static_cast<std::int64_t>(x.size()));
  b.fill_normal(y.data(), static_cast<std::int64_t>(y.size()));
  double sum = 0, sum_sq = 0;
  bool same = true;
  for (std::size_t i = 0; i < x.size(); ++i) {
    same = same && x[i] == y[i];
    sum += x[i];
    sum_sq += double(x[i]) * x[i];
  }
  CHECK(same);
  CHECK_NEAR(sum / x.size(), 0.0, 0.01);
  CHECK_NEAR(sum_sq / x.size(), 1.0, 0.02);
  CHECK_THROWS(a.set_state({0, 0, 0, 0}), std::invalid_argument);
}

namespace {

// sum(out * weights) for the network's output: a scalar loss for finite differences.
double weighted_output(Mlp& net, const std::vector<float>& x, std::int64_t batch,
                       const std::vector<float>& weights) {
  const float* out = net.forward(x.data(), batch);
  double s = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) s += double(out[i]) * weights[i];
  return s;
}

}  // namespace

TEST_CASE(mlp_parameter_gradients_match_finite_differences) {
  Mlp net({3, 5, 2}, Activation::tanh, Activation::identity, 0.2f);
  net.init_glorot(3);
  const std::int64_t batch = 4;
  Rng rng(9);
  std::vector<float> x(batch * 3), weights(batch * 2);
  rng.fill_normal(x.data(), static_cast<std::int64_t>(x.size()));
  rng.fill_normal(weights.data(), static_cast<std::int64_t>(weights.size()));
  std::vector<float> d_input(batch * 3);
  net.forward(x.data(), batch);
  net.backward(weights.data(), true, d_input.data());
  std::vector<float> grads(net.grads(), net.grads() + net.num_params());
  for (std::int64_t i = 0; i < net.num_params(); ++i) {
    const float saved = net.params()[i], h = 1e-2f;
    net.params()[i] = saved + h;
    const double plus = weighted_output(net, x, batch, weights);
    net.params()[i] = saved - h;
    const double minus = weighted_output(net, x, batch, weights);
    net.params()[i] = saved;
    CHECK_NEAR(grads[i], (plus - minus) / (2 * h), 2e-3);
  }
}

namespace {

struct StepTrace {
  std::vector<double> values;
  std::vector<float> g_params, d_params;
};

StepTrace run_gan(int threads, bool split = false) {
  set_num_threads(threads);
  auto g = std::make_shared<Mlp>(std::vector<std::int64_t>{32, 256, 256, 64}, Activation::leaky_relu,
                                 Activation::tanh, 0.2f);
  auto d = std::make_shared<Mlp>(std::vector<std::int64_t>{64, 256, 1}, Activation::leaky_relu,
                                 Activation::identity, 0.2f);
  g->init_glorot(1);
  d->init_glorot(2);
  Gan gan(g, d, 32, GeneratorLoss::non_saturating, NoiseKind::normal, 7);
  std::vector<float> x_real(128 * 64, 0.25f);
  StepTrace trace;
  for (int it = 0; it < 4; ++it) {
    DStepResult r;
    GStepResult s;
    if (split) {  // the data-parallel path: gradients, then the update
      r = gan.d_step_gradients(x_real.data(), 128, nullptr, 128);
      gan.apply_discriminator_update();
      s = gan.g_step_gradients(nullptr, 128);
      gan.apply_generator_update();
    } else {
      r = gan.d_step(x_real.data(), 128, nullptr, 128);
      s = gan.g_step(nullptr, 128);
    }
    trace.values.insert(trace.values.end(), {r.d_loss, r.d_real, r.d_fake, s.g_loss, s.d_fake});
  }
  trace.g_params.assign(g->params(), g->params() + g->num_params());
  trace.d_params.assign(d->params(), d->params() + d->num_params());
  return trace;
}

}  // namespace

TEST_CASE(gan_steps_bitwise_identical_across_thread_counts) {
  const int saved = num_threads();
  const StepTrace one = run_gan(1);
  const StepTrace two = run_gan(2);
  set_num_threads(saved);
  CHECK(one.values == two.values);
  CHECK(one.g_params == two.g_params);
  CHECK(one.d_params == two.d_params);
}

TEST_CASE(gan_split_steps_equal_fused_steps_bitwise) {
  const int saved = num_threads();
  const StepTrace fused = run_gan(2);
  const StepTrace split = run_gan(2, /*split=*/true);
  set_num_threads(saved);
  CHECK(fused.values == split.values);
  CHECK(fused.g_params == split.g_params);
  CHECK(fused.d_params == split.d_params);
}

TEST_CASE(gan_update_without_pending_gradients_throws) {
  auto g = std::make_shared<Mlp>(std::vector<std::int64_t>{2, 8, 2}, Activation::relu,
                                 Activation::identity, 0.2f);
  auto d = std::make_shared<Mlp>(std::vector<std::int64_t>{2, 8, 1}, Activation::relu,
                                 Activation::identity, 0.2f);
  Gan gan(g, d, 2, GeneratorLoss::minimax, NoiseKind::normal, 0);
  CHECK_THROWS(gan.apply_discriminator_update(), std::logic_error);
  CHECK_THROWS(gan.apply_generator_update(), std::logic_error);
  std::vector<float> x(16 * 2, 0.5f);
  gan.d_step_gradients(x.data(), 16, nullptr, 16);
  gan.apply_discriminator_update();
  CHECK_THROWS(gan.apply_discriminator_update(), std::logic_error);
}

TEST_CASE(gan_steady_state_allocates_nothing) {
  auto g = std::make_shared<Mlp>(std::vector<std::int64_t>{2, 64, 2}, Activation::leaky_relu,
                                 Activation::identity, 0.2f);
  auto d = std::make_shared<Mlp>(std::vector<std::int64_t>{2, 64, 1}, Activation::leaky_relu,
                                 Activation::identity, 0.2f);
  Gan gan(g, d, 2, GeneratorLoss::minimax, NoiseKind::uniform, 1);
  std::vector<float> x(64 * 2, 0.5f);
  gan.d_step(x.data(), 64, nullptr, 64);
  gan.g_step(nullptr, 64);
  const std::int64_t before = allocation_count();
  for (int i = 0; i < 10; ++i) {
    gan.d_step(x.data(), 64, nullptr, 64);
    gan.g_step(nullptr, 64);
  }
  CHECK(allocation_count() == before);
}

TEST_CASE(gan_rejects_mismatched_networks) {
  auto g = std::make_shared<Mlp>(std::vector<std::int64_t>{2, 3}, Activation::relu,
                                 Activation::identity, 0.2f);
  auto d = std::make_shared<Mlp>(std::vector<std::int64_t>{2, 1}, Activation::relu,
                                 Activation::identity, 0.2f);
  CHECK_THROWS(Gan(g, d, 2, GeneratorLoss::minimax, NoiseKind::normal, 0), std::invalid_argument);
  CHECK_THROWS(Gan(d, d, 2, GeneratorLoss::minimax, NoiseKind::normal, 0), std::invalid_argument);
}

// Every ISA's activation row kernels give the bits of the portable ones, for every
// activation, with and without bias, at lengths around the vector width, including
// NaN, infinities, signed zeros and the kink at 0.
TEST_CASE(activation_row_kernels_bitwise_equal_across_isas) {
  using namespace activation_detail;
  const RowKernels& generic = generic_row_kernels();
  CHECK(&active_row_kernels() == supported_row_kernels().back());  // the widest is used
  for (const RowKernels* table : supported_row_kernels()) {
    const RowKernels& wide = *table;
    const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 3e38f, -3e38f, 1e-40f, -1e-40f,
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::quiet_NaN(), 0.5f, -2.5f, 20.0f, -20.0f};
    for (Activation act : {Activation::identity, Activation::relu, Activation::leaky_relu,
                           Activation::tanh, Activation::sigmoid})
      for (std::int64_t n : {1, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47})
        for (bool with_bias : {false, true}) {
          std::vector<float> x(n), bias(n), y(n), a(n), b(n), d_a(n), d_b(n);
          for (std::int64_t i = 0; i < n; ++i) {
            x[i] = specials[i % 15];
            bias[i] = specials[(i * 7 + 3) % 15];
            y[i] = specials[(i * 5 + 1) % 15];
          }
          generic.bias_activation(x.data(), with_bias ? bias.data() : nullptr, a.data(), n, act, 0.3f);
          wide.bias_activation(x.data(), with_bias ? bias.data() : nullptr, b.data(), n, act, 0.3f);
          CHECK(std::memcmp(a.data(), b.data(), n * sizeof(float)) == 0);
          generic.gradient(y.data(), x.data(), d_a.data(), n, act, 0.3f);
          wide.gradient(y.data(), x.data(), d_b.data(), n, act, 0.3f);
          CHECK(std::memcmp(d_a.data(), d_b.data(), n * sizeof(float)) == 0);
        }
  }
}

// The float Box-Muller with its own log/sin/cos series against the same transform in
// double through libm, on the same 64-bit draws: within a few float ulps everywhere,
// including the largest radius and every quadrant; an odd count keeps the stream
// position of an even one.
TEST_CASE(rng_normal_matches_double_box_muller) {
  const std::int64_t n = 200001;
  Rng generator(7), draws(7);
  std::vector<float> z(n);
  generator.fill_normal(z.data(), n);
  double worst = 0.0;
  for (std::int64_t i = 0; i < n; i += 2) {
    const std::uint64_t x = draws.next_u64();
    const double u1 = static_cast<double>((x >> 40) + 1) * 0x1.0p-24;
    const double u2 = static_cast<double>((x >> 8) & 0xffffff) * 0x1.0p-24;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    worst = std::max(worst, std::fabs(z[i] - radius * std::cos(angle)));
    if (i + 1 < n) worst = std::max(worst, std::fabs(z[i + 1] - radius * std::sin(angle)));
  }
  CHECK(worst < 4e-6);  // |z| <= 5.8: a few ulps of float
  // The smallest u1 gives the largest radius, sqrt(2 * 24 ln 2).
  CHECK(*std::max_element(z.begin(), z.end()) <= 5.7686f);
  Rng odd(9), even(9);
  std::vector<float> a(5), b(6);
  odd.fill_normal(a.data(), 5);
  even.fill_normal(b.data(), 6);
  for (int i = 0; i < 5; ++i) CHECK(a[i] == b[i]);
  CHECK(odd.next_u64() == even.next_u64());
}

// The cloned loops (GANKIT_CLONES: the widest of avx512f, avx2, baseline this CPU runs)
// give the bits of the same arithmetic in baseline scalar code: tanh and sigmoid rows
// against their scalar functions (smooth_rows.cpp, not cloned), Adam against its
// formula written out here, at lengths around every vector width.
TEST_CASE(cloned_loops_bitwise_equal_to_scalar_code) {
  using activation_detail::sigmoid_value;
  using activation_detail::tanh_value;
  Rng rng(11);
  for (std::int64_t n : {1, 3, 8, 15, 16, 17, 31, 33, 64, 101}) {
    std::vector<float> x(n), bias(n), rows(n);
    rng.fill_normal(x.data(), n);
    rng.fill_normal(bias.data(), n);
    for (std::int64_t i = 0; i < n; ++i) x[i] *= (i % 5 == 0) ? 40.0f : 3.0f;
    for (bool with_bias : {false, true}) {
      const float* b = with_bias ? bias.data() : nullptr;
      activation_detail::tanh_row(x.data(), b, rows.data(), n);
      for (std::int64_t i = 0; i < n; ++i)
        CHECK(rows[i] == tanh_value(with_bias ? x[i] + bias[i] : x[i]));
      activation_detail::sigmoid_row(x.data(), b, rows.data(), n);
      for (std::int64_t i = 0; i < n; ++i)
        CHECK(rows[i] == sigmoid_value(with_bias ? x[i] + bias[i] : x[i]));
    }
    std::vector<float> params(n), grads(n), m(n), v(n);
    rng.fill_normal(params.data(), n);
    rng.fill_normal(grads.data(), n);
    rng.fill_normal(m.data(), n);
    rng.fill_normal(v.data(), n);
    for (float& each : v) each = each * each;
    std::vector<float> want_params = params, want_m = m, want_v = v;
    const AdamFactors f = adam_factors(7, 1e-3, 0.5, 0.999, 1e-8, 0.01);
    adam_span(f, params.data(), grads.data(), m.data(), v.data(), n);
    for (std::int64_t i = 0; i < n; ++i) {
      const float g = grads[i] + f.weight_decay * want_params[i];
      want_m[i] = f.beta1 * want_m[i] + f.one_minus_beta1 * g;
      want_v[i] = f.beta2 * want_v[i] + f.one_minus_beta2 * (g * g);
      const float denom = std::sqrt(want_v[i]) * f.inv_sqrt_correction2 + f.eps;
      want_params[i] -= f.step_size * (want_m[i] / denom);
      CHECK(params[i] == want_params[i] && m[i] == want_m[i] && v[i] == want_v[i]);
    }
  }
}

// tanh and sigmoid (their own float exponential) against double-precision libm over
// the whole float range: within 4 float ulps (relative 2.4e-7), exact at the ends,
// NaN propagated, signed zero kept by tanh.
TEST_CASE(tanh_and_sigmoid_match_double_precision) {
  using activation_detail::sigmoid_value;
  using activation_detail::tanh_value;
  double worst_tanh = 0.0, worst_sigmoid = 0.0;
  auto relative = [](double got, double want) {
    return want == 0.0 ? std::fabs(got) : std::fabs(got - want) / std::fabs(want);
  };
  for (double x = -100.0; x <= 100.0; x += 0.00390625 * 0.73) {
    const float xf = static_cast<float>(x);
    worst_tanh = std::max(worst_tanh, relative(tanh_value(xf), std::tanh(double(xf))));
    const double s = 1.0 / (1.0 + std::exp(-double(xf)));
    if (s > 1e-37) worst_sigmoid = std::max(worst_sigmoid, relative(sigmoid_value(xf), s));
  }
  for (float tiny : {1e-30f, 1e-10f, 1e-5f, 3e-3f, 0.1f}) {  // tanh x ~ x: relative precision
    worst_tanh = std::max(worst_tanh, relative(tanh_value(tiny), std::tanh(double(tiny))));
    worst_tanh = std::max(worst_tanh, relative(tanh_value(-tiny), std::tanh(-double(tiny))));
  }
  CHECK(worst_tanh < 4.8e-7);
  CHECK(worst_sigmoid < 4.8e-7);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(tanh_value(inf) == 1.0f && tanh_value(-inf) == -1.0f);
  CHECK(sigmoid_value(inf) == 1.0f && sigmoid_value(-inf) >= 0.0f && sigmoid_value(-inf) < 1e-37f);
  CHECK(std::isnan(tanh_value(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isnan(sigmoid_value(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::signbit(tanh_value(-0.0f)) && tanh_value(-0.0f) == 0.0f);
  CHECK(sigmoid_value(0.0f) == 0.5f && sigmoid_value(-0.0f) == 0.5f);
}

// backward_and_update (Adam applied to each weight-gradient block by its GEMM's epilogue)
// gives the bits of backward() then optimizer_update(): plain, batch-norm, maxout and
// dropout networks, skinny and blocked layers, Adam and SGD, one and two threads, over
// several steps.
TEST_CASE(fused_update_equals_backward_then_update) {
  struct Net {
    std::vector<std::int64_t> sizes;
    Activation hidden;
    HiddenBlockOptions options;
  };
  HiddenBlockOptions bn, maxout, drop;
  bn.batch_norm = true;
  maxout.pieces = 3;
  drop.dropout = 0.25f;
  const Net nets[] = {{{5, 37, 300, 2}, Activation::leaky_relu, {}},
                      {{3, 40, 41, 1}, Activation::relu, bn},
                      {{4, 33, 19, 3}, Activation::identity, maxout},
                      {{6, 64, 64, 7}, Activation::tanh, drop}};
  const int saved = num_threads();
  for (int threads : {1, 2})
    for (const Net& n : nets)
      for (OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::sgd}) {
        set_num_threads(threads);
        Mlp fused(n.sizes, n.hidden, Activation::identity, 0.2f, n.options);
        Mlp separate(n.sizes, n.hidden, Activation::identity, 0.2f, n.options);
        OptimizerConfig config;
        config.kind = kind;
        config.lr = 1e-2;
        config.momentum = 0.9;
        config.weight_decay = 1e-3;
        for (Mlp* net : {&fused, &separate}) {
          net->init_glorot(11);
          net->configure_optimizer(config);
        }
        separate.set_fused_update(false);
        const std::int64_t batch = 29, in = n.sizes.front(), out = n.sizes.back();
        std::vector<float> x(batch * in), d_out(batch * out), dx_fused(batch * in), dx_sep(batch * in);
        Rng rng(3);
        for (int step = 0; step < 3; ++step) {
          rng.fill_normal(x.data(), batch * in);
          rng.fill_normal(d_out.data(), batch * out);
          fused.forward(x.data(), batch, ForwardMode::training);
          fused.backward_and_update(d_out.data(), dx_fused.data());
          separate.forward(x.data(), batch, ForwardMode::training);
          separate.backward_and_update(d_out.data(), dx_sep.data());
        }
        const std::int64_t p = fused.num_params(), s = fused.optimizer_state_size();
        CHECK(std::memcmp(fused.params(), separate.params(), p * sizeof(float)) == 0);
        CHECK(std::memcmp(fused.grads(), separate.grads(), p * sizeof(float)) == 0);
        CHECK(std::memcmp(fused.optimizer_state(), separate.optimizer_state(), s * sizeof(float)) == 0);
        CHECK(std::memcmp(dx_fused.data(), dx_sep.data(), dx_sep.size() * sizeof(float)) == 0);
        CHECK(fused.optimizer_step() == 3 && separate.optimizer_step() == 3);
      }
  set_num_threads(saved);
}
