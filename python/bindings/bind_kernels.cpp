// The individual kernels, exposed for tests and benchmarks: GEMM, dense layer,
// activations, losses and optimizer steps. Each unpacks and validates its arrays,
// then releases the GIL for the kernel itself.
#include <pybind11/stl.h>

#include "array_args.h"
#include "bindings.h"
#include "gankit/activation.h"
#include "gankit/dense.h"
#include "gankit/gemm.h"
#include "gankit/loss.h"
#include "gankit/optimizer.h"
#include "gankit/replica_mean.h"
#include "gankit/threads.h"

namespace py = pybind11;

namespace gankit_py {

namespace {

// out (n,) = the rank-ordered float64 mean of gathered's rows (replica_mean.h), in place.
// gathered is taken as it is (a float32 (ranks, n) array, not converted and not checked
// for NaN): gradients of a diverging step must reach the divergence guard, not an error.
void replica_mean(py::handle gathered_obj, py::handle out_obj) {
  FloatArray gathered = as_inplace(gathered_obj, "gathered", -1);
  if (gathered.ndim() != 2)
    throw py::value_error("gathered: expected a 2-D (ranks, n) array, got shape " + shape_string(gathered));
  FloatArray out = as_inplace(out_obj, "out", gathered.shape(1));
  const float* source = gathered.data();
  float* target = out.mutable_data();
  const std::int64_t ranks = gathered.shape(0), n = gathered.shape(1);
  if (source < target + n && target < source + ranks * n)
    throw py::value_error("out: expected a buffer apart from gathered, got one that overlaps it");
  py::gil_scoped_release release;
  gankit::replica_mean(source, ranks, n, target);
}

FloatArray matmul(py::handle a_obj, py::handle b_obj, bool trans_a, bool trans_b,
                  const std::string& precision_text) {
  const gankit::GemmPrecision precision = gankit::precision_from_name(precision_text);
  if (precision == gankit::GemmPrecision::bf16) gankit::require_bf16_kernel("precision 'bf16'");
  FloatArray a = as_matrix(a_obj, "a", -1);
  FloatArray b = as_matrix(b_obj, "b", -1);
  gankit::MatrixView a_view = gankit::row_major(a.data(), a.shape(0), a.shape(1));
  gankit::MatrixView b_view = gankit::row_major(b.data(), b.shape(0), b.shape(1));
  if (trans_a) a_view = gankit::transposed(a_view);
  if (trans_b) b_view = gankit::transposed(b_view);
  if (a_view.cols != b_view.rows)
    throw py::value_error("matmul: inner dimensions differ: op(a) is " + std::to_string(a_view.rows) +
                          "x" + std::to_string(a_view.cols) + ", op(b) is " +
                          std::to_string(b_view.rows) + "x" + std::to_string(b_view.cols));
  FloatArray c = new_matrix(a_view.rows, b_view.cols);
  float* c_data = c.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::gemm(a_view, b_view, c_data, b_view.cols, /*accumulate=*/false, nullptr, precision);
  }
  return c;
}

FloatArray dense_forward(py::handle x_obj, py::handle w_obj, py::handle b_obj,
                         const std::string& activation, float slope) {
  FloatArray w = as_matrix(w_obj, "w", -1);
  const std::int64_t fan_in = w.shape(0), fan_out = w.shape(1);
  FloatArray x = as_matrix(x_obj, "x", fan_in);
  FloatArray b = as_vector(b_obj, "b", fan_out);
  const gankit::Activation act = gankit::activation_from_name(activation);
  gankit::validate_slope(slope);
  const std::int64_t batch = x.shape(0);
  FloatArray y = new_matrix(batch, fan_out);
  float* y_data = y.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::dense_forward(x.data(), w.data(), b.data(), y_data, batch, fan_in, fan_out, act, slope);
  }
  return y;
}

// Returns (d_w, d_b, d_x) given the layer's input x, weights w, output y and d_y.
py::tuple dense_backward(py::handle x_obj, py::handle w_obj, py::handle y_obj, py::handle d_y_obj,
                         const std::string& activation, float slope) {
  FloatArray w = as_matrix(w_obj, "w", -1);
  const std::int64_t fan_in = w.shape(0), fan_out = w.shape(1);
  FloatArray x = as_matrix(x_obj, "x", fan_in);
  const std::int64_t batch = x.shape(0);
  FloatArray y = as_matrix(y_obj, "y", fan_out);
  FloatArray d_y_in = as_matrix(d_y_obj, "d_y", fan_out);
  if (y.shape(0) != batch || d_y_in.shape(0) != batch)
    throw py::value_error("y and d_y: expected " + std::to_string(batch) + " rows like x, got " +
                          std::to_string(y.shape(0)) + " and " + std::to_string(d_y_in.shape(0)));
  const gankit::Activation act = gankit::activation_from_name(activation);
  gankit::validate_slope(slope);
  FloatArray d_z = new_matrix(batch, fan_out);  // the kernel overwrites d_y: work on a copy
  std::copy_n(d_y_in.data(), batch * fan_out, d_z.mutable_data());
  FloatArray d_w = new_matrix(fan_in, fan_out);
  FloatArray d_b = new_vector(fan_out);
  FloatArray d_x = new_matrix(batch, fan_in);
  float *d_z_data = d_z.mutable_data(), *d_w_data = d_w.mutable_data();
  float *d_b_data = d_b.mutable_data(), *d_x_data = d_x.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::dense_backward(x.data(), w.data(), y.data(), d_z_data, d_w_data, d_b_data, d_x_data,
                           batch, fan_in, fan_out, act, slope);
  }
  return py::make_tuple(d_w, d_b, d_x);
}

FloatArray activation_forward(py::handle x_obj, const std::string& activation, float slope) {
  FloatArray x = as_vector(x_obj, "x", -1);
  const gankit::Activation act = gankit::activation_from_name(activation);
  gankit::validate_slope(slope);
  FloatArray y = new_vector(x.size());
  float* y_data = y.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::activation_forward(x.data(), y_data, x.size(), act, slope);
  }
  return y;
}

FloatArray activation_backward(py::handle y_obj, py::handle d_y_obj, const std::string& activation,
                               float slope) {
  FloatArray y = as_vector(y_obj, "y", -1);
  FloatArray d_y = as_vector(d_y_obj, "d_y", y.size());
  const gankit::Activation act = gankit::activation_from_name(activation);
  gankit::validate_slope(slope);
  FloatArray d_x = new_vector(y.size());
  float* d_x_data = d_x.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::activation_backward(y.data(), d_y.data(), d_x_data, y.size(), act, slope);
  }
  return d_x;
}

// Returns (d_loss, d_logits_real, d_logits_fake).
py::tuple discriminator_loss(py::handle real_obj, py::handle fake_obj) {
  FloatArray real = as_vector(real_obj, "logits_real", -1);
  FloatArray fake = as_vector(fake_obj, "logits_fake", -1);
  FloatArray d_real = new_vector(real.size());
  FloatArray d_fake = new_vector(fake.size());
  float *d_real_data = d_real.mutable_data(), *d_fake_data = d_fake.mutable_data();
  double loss;
  {
    py::gil_scoped_release release;
    loss = gankit::discriminator_loss(real.data(), real.size(), fake.data(), fake.size(),
                                      d_real_data, d_fake_data);
  }
  return py::make_tuple(loss, d_real, d_fake);
}

// Returns (g_loss, d_logits).
py::tuple generator_loss(py::handle fake_obj, const std::string& kind_name) {
  const gankit::GeneratorLoss kind = gankit::generator_loss_from_name(kind_name);
  FloatArray fake = as_vector(fake_obj, "logits_fake", -1);
  FloatArray d_logits = new_vector(fake.size());
  float* d_data = d_logits.mutable_data();
  double loss;
  {
    py::gil_scoped_release release;
    loss = gankit::generator_loss(fake.data(), fake.size(), kind, d_data);
  }
  return py::make_tuple(loss, d_logits);
}

void sgd_step(py::handle params_obj, py::handle grads_obj, py::handle velocity_obj, double lr,
              double momentum, double weight_decay) {
  gankit::OptimizerConfig config;
  config.kind = gankit::OptimizerKind::sgd;
  config.lr = lr;
  config.momentum = momentum;
  config.weight_decay = weight_decay;
  gankit::validate(config);
  FloatArray params = as_inplace(params_obj, "params", -1);
  const std::int64_t n = params.size();
  FloatArray grads = as_vector(grads_obj, "grads", n);
  float* velocity = nullptr;
  FloatArray velocity_arr;
  if (!velocity_obj.is_none()) {
    velocity_arr = as_inplace(velocity_obj, "velocity", n);
    velocity = velocity_arr.mutable_data();
  }
  float* p = params.mutable_data();
  py::gil_scoped_release release;
  gankit::sgd_step(p, grads.data(), velocity, n, lr, momentum, weight_decay);
}

void adam_step(py::handle params_obj, py::handle grads_obj, py::handle m_obj, py::handle v_obj,
               std::int64_t step, double lr, double beta1, double beta2, double eps,
               double weight_decay) {
  gankit::OptimizerConfig config;
  config.lr = lr;
  config.beta1 = beta1;
  config.beta2 = beta2;
  config.eps = eps;
  config.weight_decay = weight_decay;
  gankit::validate(config);
  positive_count(step, "step");
  FloatArray params = as_inplace(params_obj, "params", -1);
  const std::int64_t n = params.size();
  FloatArray grads = as_vector(grads_obj, "grads", n);
  FloatArray m = as_inplace(m_obj, "m", n);
  FloatArray v = as_inplace(v_obj, "v", n);
  float *p = params.mutable_data(), *m_data = m.mutable_data(), *v_data = v.mutable_data();
  py::gil_scoped_release release;
  gankit::adam_step(p, grads.data(), m_data, v_data, n, step, lr, beta1, beta2, eps, weight_decay);
}

}  // namespace

void bind_kernels(py::module_& m) {
  m.def("replica_mean", &replica_mean, py::arg("gathered"), py::arg("out").noconvert());
  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("precision") = "fp32",
        "op(a) @ op(b) with the core's GEMM, float32 out; precision 'bf16' rounds the "
        "operands to bfloat16 and sums in float32.");
  m.def("gemm_bf16_kernel", &gankit::gemm_bf16_kernel_name,
        "The kernel of bf16 products, or '' on a CPU without one.");
  m.def("require_bf16_kernel", &gankit::require_bf16_kernel, py::arg("who"),
        "ValueError 'WHO: this CPU has no bf16 kernel (...)' where gemm_bf16_kernel() is ''.");
  m.def("gemm_kernel", &gankit::gemm_kernel_name);
  m.def("gemm_kernels", &gankit::gemm_available_kernels);
  m.def("select_gemm_kernel", &gankit::gemm_select_kernel, py::arg("name"));
  m.def("fma_peak_gflops", [](double seconds) {
    if (!(seconds > 0.0 && seconds <= 60.0))
      throw py::value_error("seconds: expected 0 < seconds <= 60, got " + std::to_string(seconds));
    py::gil_scoped_release release;
    return gankit::measure_fma_peak_gflops(seconds);
  }, py::arg("seconds") = 0.5);
  m.def("barrier_cost_us", [](int threads, int barriers) {
    py::gil_scoped_release release;
    return gankit::measure_barrier_us(threads, barriers);
  }, py::arg("threads") = 2, py::arg("barriers") = 2000);
  m.def("dense_forward", &dense_forward, py::arg("x"), py::arg("w"), py::arg("b"),
        py::arg("activation") = "identity", py::arg("slope") = 0.2f);
  m.def("dense_backward", &dense_backward, py::arg("x"), py::arg("w"), py::arg("y"),
        py::arg("d_y"), py::arg("activation") = "identity", py::arg("slope") = 0.2f);
  m.def("activation_forward", &activation_forward, py::arg("x"), py::arg("activation"),
        py::arg("slope") = 0.2f);
  m.def("activation_backward", &activation_backward, py::arg("y"), py::arg("d_y"),
        py::arg("activation"), py::arg("slope") = 0.2f);
  m.def("discriminator_loss", &discriminator_loss, py::arg("logits_real"), py::arg("logits_fake"));
  m.def("generator_loss", &generator_loss, py::arg("logits_fake"), py::arg("kind"));
  m.def("sgd_step", &sgd_step, py::arg("params"), py::arg("grads"), py::arg("velocity") = py::none(),
        py::arg("lr"), py::arg("momentum") = 0.0, py::arg("weight_decay") = 0.0);
  m.def("adam_step", &adam_step, py::arg("params"), py::arg("grads"), py::arg("m"), py::arg("v"),
        py::arg("step"), py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
        py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0);
}

}  // namespace gankit_py
