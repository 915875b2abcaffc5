// gankit._core.Gan: one call per training step; the GIL is released for the whole step.
#include <pybind11/stl.h>

#include <memory>

#include "array_args.h"
#include "bindings.h"
#include "gankit/gan.h"

namespace py = pybind11;
using gankit::Gan;

namespace gankit_py {

namespace {

// z given: validate it; z None: the core draws n rows from the GAN's RNG.
struct NoiseArg {
  FloatArray array;
  const float* data = nullptr;
  std::int64_t rows = 0;
};

NoiseArg noise_arg(Gan& gan, py::handle z_obj, std::int64_t n_if_none) {
  NoiseArg arg;
  if (z_obj.is_none()) {
    arg.rows = row_count(n_if_none, "n");
  } else {
    arg.array = as_matrix(z_obj, "z", gan.noise_dim());
    arg.data = arg.array.data();
    arg.rows = arg.array.shape(0);
  }
  return arg;
}

// update=false: the gradient half of the step (gan.h, data-parallel training).
py::tuple d_step(Gan& gan, py::handle x_obj, py::handle z_obj, std::int64_t n_fake, bool update) {
  FloatArray x_real = as_matrix(x_obj, "x_real", gan.data_dim());
  NoiseArg z = noise_arg(gan, z_obj, n_fake);
  gankit::DStepResult r;
  {
    py::gil_scoped_release release;
    r = update ? gan.d_step(x_real.data(), x_real.shape(0), z.data, z.rows)
               : gan.d_step_gradients(x_real.data(), x_real.shape(0), z.data, z.rows);
  }
  return py::make_tuple(r.d_loss, r.d_real, r.d_fake);
}

py::tuple g_step(Gan& gan, py::handle z_obj, std::int64_t n, bool update) {
  NoiseArg z = noise_arg(gan, z_obj, n);
  gankit::GStepResult r;
  {
    py::gil_scoped_release release;
    r = update ? gan.g_step(z.data, z.rows) : gan.g_step_gradients(z.data, z.rows);
  }
  return py::make_tuple(r.g_loss, r.d_fake);
}

void apply_update(Gan& gan, const std::string& network) {
  if (network != "D" && network != "G")
    throw py::value_error("network: expected 'D' or 'G', got '" + network + "'");
  py::gil_scoped_release release;
  if (network == "D") gan.apply_discriminator_update();
  else gan.apply_generator_update();
}

FloatArray generate(Gan& gan, py::handle z_obj, std::int64_t n, bool averaged) {
  NoiseArg z = noise_arg(gan, z_obj, n);
  FloatArray x = new_matrix(z.rows, gan.data_dim());
  float* x_data = x.mutable_data();
  {
    py::gil_scoped_release release;
    gan.generate(z.data, z.rows, x_data, averaged);
  }
  return x;
}

FloatArray discriminate(Gan& gan, py::handle x_obj) {
  FloatArray x = as_matrix(x_obj, "x", gan.data_dim());
  if (x.shape(0) % gan.pack() != 0)
    throw py::value_error("x: expected a number of rows that is a multiple of pack=" +
                          std::to_string(gan.pack()) + " (D judges packs of consecutive rows), got " +
                          std::to_string(x.shape(0)));
  FloatArray prob = new_vector(x.shape(0) / gan.pack());
  float* prob_data = prob.mutable_data();
  {
    py::gil_scoped_release release;
    gan.discriminate(x.data(), x.shape(0), prob_data);
  }
  return prob;
}

FloatArray noise(Gan& gan, std::int64_t n) {
  row_count(n, "n");
  FloatArray z = new_matrix(n, gan.noise_dim());
  float* z_data = z.mutable_data();
  {
    py::gil_scoped_release release;
    gan.draw_noise(z_data, n);
  }
  return z;
}

FloatArray noise_shard(Gan& gan, std::int64_t first_row, std::int64_t n) {
  row_count(n, "n");
  FloatArray z = new_matrix(n, gan.noise_dim());
  float* z_data = z.mutable_data();
  {
    py::gil_scoped_release release;
    gan.draw_noise_shard(z_data, first_row, n);
  }
  return z;
}

// A zero-copy view of the generator average's params or buffers, owned by the GAN; an
// empty array when averaging is off.
py::array_t<float> average_view(const std::shared_ptr<Gan>& gan, bool buffers) {
  gankit::ParameterAverage* average = gan->generator_average();
  if (average == nullptr) return py::array_t<float>(std::vector<py::ssize_t>{0});
  const std::int64_t n = buffers ? average->num_buffers() : average->num_params();
  float* data = buffers ? average->buffers() : average->params();
  if (n == 0) return py::array_t<float>(std::vector<py::ssize_t>{0});
  return py::array_t<float>({static_cast<py::ssize_t>(n)}, {static_cast<py::ssize_t>(sizeof(float))},
                            data, py::cast(gan));
}

}  // namespace

void bind_gan(py::module_& m) {
  py::class_<Gan, std::shared_ptr<Gan>>(m, "Gan")
      .def(py::init([](std::shared_ptr<gankit::Mlp> g, std::shared_ptr<gankit::Mlp> d,
                       std::int64_t noise_dim, const std::string& g_loss,
                       const std::string& noise, std::uint64_t seed, std::int64_t pack, double ema) {
             return std::make_shared<Gan>(std::move(g), std::move(d), noise_dim,
                                          gankit::generator_loss_from_name(g_loss),
                                          gankit::noise_kind_from_name(noise), seed, pack, ema);
           }),
           py::arg("generator"), py::arg("discriminator"), py::arg("noise_dim"),
           py::arg("g_loss") = "non_saturating", py::arg("noise") = "normal", py::arg("seed") = 0,
           py::arg("pack") = 1, py::arg("ema") = 0.0)
      .def_property_readonly("pack", &Gan::pack)
      .def_property_readonly("ema", [](Gan& g) {
        return g.generator_average() ? g.generator_average()->decay() : 0.0;
      })
      .def_property_readonly("average_params", [](const std::shared_ptr<Gan>& g) { return average_view(g, false); })
      .def_property_readonly("average_buffers", [](const std::shared_ptr<Gan>& g) { return average_view(g, true); })
      .def_property_readonly("noise_dim", &Gan::noise_dim)
      .def_property_readonly("data_dim", &Gan::data_dim)
      .def_property_readonly("g_loss", [](const Gan& g) {
        return gankit::generator_loss_name(g.generator_loss_kind());
      })
      .def_property_readonly("noise_kind", [](const Gan& g) { return gankit::noise_kind_name(g.noise_kind()); })
      .def_property("rng_state", [](Gan& g) { return g.rng().state(); },
                    [](Gan& g, const std::array<std::uint64_t, 4>& s) { g.rng().set_state(s); })
      .def("d_step", &d_step, py::arg("x_real"), py::arg("z") = py::none(), py::arg("n_fake") = 0,
           py::arg("update") = true)
      .def("g_step", &g_step, py::arg("z") = py::none(), py::arg("n") = 0, py::arg("update") = true)
      .def("apply_update", &apply_update, py::arg("network"))
      .def("generate", &generate, py::arg("z") = py::none(), py::arg("n") = 0,
           py::arg("averaged") = true)
      .def("discriminate", &discriminate, py::arg("x"))
      .def("noise", &noise, py::arg("n"))
      .def("noise_shard", &noise_shard, py::arg("first_row"), py::arg("n"));
}

}  // namespace gankit_py
