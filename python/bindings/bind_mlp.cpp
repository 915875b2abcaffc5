// gankit._core.Mlp: the network, with parameters, gradients and optimizer state as
// zero-copy NumPy views of C++ memory. Each view holds a reference to the network,
// so the memory outlives the Python wrapper that created it.
#include <pybind11/stl.h>

#include <memory>

#include "array_args.h"
#include "bindings.h"
#include "gankit/busy_guard.h"
#include "gankit/mlp.h"

namespace py = pybind11;
using gankit::Mlp;
using MlpPtr = std::shared_ptr<Mlp>;

namespace gankit_py {

namespace {

// A view of `count` floats at `data` shaped `shape`, owned by `owner`.
py::array_t<float> view(const MlpPtr& owner, float* data, std::vector<py::ssize_t> shape) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = sizeof(float);
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return py::array_t<float>(shape, strides, data, py::cast(owner));
}

// [(W, b), ...] views into one of the network's parameter-shaped buffers; batch-norm
// blocks give (W, b, gamma, beta).
py::list layer_views(const MlpPtr& net, float* base) {
  py::list out;
  for (std::size_t l = 0; l < net->layers().size(); ++l) {
    const gankit::DenseLayerSpec& layer = net->layers()[l];
    const gankit::BlockSpec& block = net->blocks()[l];
    py::array_t<float> w = view(net, base + layer.w_offset, {layer.fan_in, layer.fan_out});
    py::array_t<float> b = view(net, base + layer.b_offset, {layer.fan_out});
    if (block.batch_norm) {
      out.append(py::make_tuple(w, b, view(net, base + block.gamma_offset, {layer.fan_out}),
                                view(net, base + block.beta_offset, {layer.fan_out})));
    } else {
      out.append(py::make_tuple(w, b));
    }
  }
  return out;
}

// [(running_mean, running_var), ...] per batch-norm block, as views.
py::list buffer_views(const MlpPtr& net) {
  py::list out;
  for (std::size_t l = 0; l < net->layers().size(); ++l) {
    const gankit::BlockSpec& block = net->blocks()[l];
    if (!block.batch_norm) continue;
    const std::int64_t width = net->layers()[l].fan_out;
    out.append(py::make_tuple(view(net, net->buffers() + block.running_mean_offset, {width}),
                              view(net, net->buffers() + block.running_var_offset, {width})));
  }
  return out;
}

py::array_t<float> flat_buffers(const MlpPtr& net) {
  if (net->num_buffers() == 0) return py::array_t<float>(std::vector<py::ssize_t>{0});
  return view(net, net->buffers(), {net->num_buffers()});
}

gankit::ForwardMode mode_of(bool training) {
  return training ? gankit::ForwardMode::training : gankit::ForwardMode::inference;
}

void configure_optimizer(Mlp& net, const std::string& kind, double lr, double beta1, double beta2,
                         double eps, double weight_decay, double momentum,
                         const std::string& schedule, std::int64_t schedule_steps, double final_lr) {
  gankit::OptimizerConfig config;
  if (kind == "adam") config.kind = gankit::OptimizerKind::adam;
  else if (kind == "sgd") config.kind = gankit::OptimizerKind::sgd;
  else throw py::value_error("optimizer: expected 'adam' or 'sgd', got '" + kind + "'");
  config.lr = lr;
  config.beta1 = beta1;
  config.beta2 = beta2;
  config.eps = eps;
  config.weight_decay = weight_decay;
  config.momentum = momentum;
  config.schedule = gankit::lr_schedule_from_name(schedule);
  config.schedule_steps = schedule_steps;
  config.final_lr = final_lr;
  gankit::BusyGuard guard(net.busy_flag(), "the network");
  net.configure_optimizer(config);
}

FloatArray forward(Mlp& net, py::handle x_obj, bool training, py::handle segments_obj) {
  FloatArray x = as_matrix(x_obj, "x", net.input_dim());
  const std::int64_t batch = x.shape(0);
  const std::vector<std::int64_t> segments = segment_arg(segments_obj, batch);
  FloatArray y = new_matrix(batch, net.output_dim());
  float* y_data = y.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::BusyGuard guard(net.busy_flag(), "the network");
    const float* out = net.forward_segments(x.data(), segments.data(),
                                            static_cast<std::int64_t>(segments.size()), mode_of(training));
    std::copy_n(out, batch * net.output_dim(), y_data);
  }
  return y;
}

// Forward and backward on one batch: fills the parameter gradients and returns the
// gradient w.r.t. the input, for d(loss)/d(output) = d_output.
FloatArray forward_backward(Mlp& net, py::handle x_obj, py::handle d_output_obj, bool training,
                            py::handle segments_obj) {
  FloatArray x = as_matrix(x_obj, "x", net.input_dim());
  const std::int64_t batch = x.shape(0);
  FloatArray d_output = as_matrix(d_output_obj, "d_output", net.output_dim());
  if (d_output.shape(0) != batch)
    throw py::value_error("d_output: expected " + std::to_string(batch) + " rows like x, got " +
                          std::to_string(d_output.shape(0)));
  const std::vector<std::int64_t> segments = segment_arg(segments_obj, batch);
  FloatArray d_input = new_matrix(batch, net.input_dim());
  float* d_input_data = d_input.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::BusyGuard guard(net.busy_flag(), "the network");
    net.forward_segments(x.data(), segments.data(), static_cast<std::int64_t>(segments.size()),
                         mode_of(training));
    net.backward(d_output.data(), /*want_param_grads=*/true, d_input_data);
  }
  return d_input;
}

// Holds the network's busy flag while Python writes its parameters through NumPy
// views (`with net.exclusive(): ...`), so a step running in another thread (GIL
// released) and such a write refuse each other instead of mixing.
class ExclusiveUse {
 public:
  explicit ExclusiveUse(MlpPtr net) : net_(std::move(net)) {}
  void enter() { guard_ = std::make_unique<gankit::BusyGuard>(net_->busy_flag(), "the network"); }
  void exit() { guard_.reset(); }

 private:
  MlpPtr net_;
  std::unique_ptr<gankit::BusyGuard> guard_;
};

}  // namespace

void bind_mlp(py::module_& m) {
  py::class_<ExclusiveUse>(m, "ExclusiveUse")
      .def("__enter__", [](ExclusiveUse& e) { e.enter(); })
      .def("__exit__", [](ExclusiveUse& e, py::args) { e.exit(); return false; });
  py::class_<Mlp, MlpPtr>(m, "Mlp")
      .def(py::init([](const std::vector<std::int64_t>& sizes, const std::string& hidden,
                       const std::string& output, float slope, bool batch_norm,
                       std::int64_t pieces, float dropout) {
             gankit::HiddenBlockOptions options;
             options.batch_norm = batch_norm;
             options.pieces = pieces;
             options.dropout = dropout;
             return std::make_shared<Mlp>(sizes, gankit::activation_from_name(hidden),
                                          gankit::activation_from_name(output), slope, options);
           }),
           py::arg("sizes"), py::arg("hidden") = "leaky_relu", py::arg("output") = "identity",
           py::arg("slope") = 0.2f, py::arg("batch_norm") = false, py::arg("pieces") = 1,
           py::arg("dropout") = 0.0f)
      .def_property_readonly("sizes", &Mlp::sizes)
      .def_property_readonly("hidden_activation",
                             [](const Mlp& n) { return gankit::activation_name(n.hidden_activation()); })
      .def_property_readonly("output_activation",
                             [](const Mlp& n) { return gankit::activation_name(n.output_activation()); })
      .def_property_readonly("slope", &Mlp::slope)
      .def_property_readonly("batch_norm", [](const Mlp& n) { return n.hidden_options().batch_norm; })
      .def_property_readonly("pieces", [](const Mlp& n) { return n.hidden_options().pieces; })
      .def_property_readonly("dropout", [](const Mlp& n) { return n.hidden_options().dropout; })
      .def_property("precision",
                    [](const Mlp& n) { return std::string(gankit::precision_name(n.precision())); },
                    [](Mlp& n, const std::string& name) {
                      const gankit::GemmPrecision precision = gankit::precision_from_name(name);
                      gankit::BusyGuard guard(n.busy_flag(), "the network");
                      n.set_precision(precision);
                    }, "The arithmetic of the dense layers' products: 'fp32' or 'bf16'.")
      .def_property_readonly("num_buffers", &Mlp::num_buffers)
      .def_property_readonly("buffers", &flat_buffers,
                             "Running means and variances of the batch-norm blocks, flat view.")
      .def("buffer_views", &buffer_views)
      .def_property("dropout_state",
                    [](const Mlp& n) { return py::make_tuple(n.dropout_seed(), n.dropout_counter()); },
                    [](Mlp& n, const std::pair<std::uint64_t, std::uint64_t>& state) {
                      gankit::BusyGuard guard(n.busy_flag(), "the network");
                      n.set_dropout_state(state.first, state.second);
                    }, "(seed, counter): dropout masks are a function of them (see dropout.h).")
      .def_property_readonly("num_params", &Mlp::num_params)
      .def_property_readonly("params",
                             [](const MlpPtr& n) { return view(n, n->params(), {n->num_params()}); })
      .def_property_readonly("grads",
                             [](const MlpPtr& n) { return view(n, n->grads(), {n->num_params()}); })
      .def_property_readonly("optimizer_state", [](const MlpPtr& n) {
        const std::int64_t per_param = n->optimizer_state_size() / std::max<std::int64_t>(1, n->num_params());
        return view(n, n->optimizer_state(), {per_param, n->num_params()});
      })
      .def("param_views", [](const MlpPtr& n) { return layer_views(n, n->params()); })
      .def("grad_views", [](const MlpPtr& n) { return layer_views(n, n->grads()); })
      .def("init_glorot", [](Mlp& n, std::uint64_t seed) {
        py::gil_scoped_release release;
        gankit::BusyGuard guard(n.busy_flag(), "the network");
        n.init_glorot(seed);
      }, py::arg("seed"))
      .def("configure_optimizer", &configure_optimizer, py::arg("kind"), py::arg("lr"),
           py::arg("beta1") = 0.5, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
           py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0,
           py::arg("schedule") = "constant", py::arg("schedule_steps") = 0, py::arg("final_lr") = 0.0)
      // The learning rate the next update will use (its schedule at optimizer_step + 1).
      .def_property_readonly("learning_rate", [](const Mlp& n) {
        return gankit::scheduled_lr(n.optimizer(), n.optimizer_step() + 1);
      })
      .def_property_readonly("optimizer_kind", [](const Mlp& n) {
        return n.optimizer().kind == gankit::OptimizerKind::adam ? "adam" : "sgd";
      })
      .def_property("optimizer_step", &Mlp::optimizer_step, &Mlp::set_optimizer_step)
      .def("optimizer_update", [](Mlp& n) {
        py::gil_scoped_release release;
        gankit::BusyGuard guard(n.busy_flag(), "the network");
        n.optimizer_update();
      })
      .def("exclusive", [](const MlpPtr& n) { return ExclusiveUse(n); })
      .def("forward", &forward, py::arg("x"), py::arg("training") = false,
           py::arg("segments") = py::none())
      .def("forward_backward", &forward_backward, py::arg("x"), py::arg("d_output"),
           py::arg("training") = false, py::arg("segments") = py::none());
}

}  // namespace gankit_py
