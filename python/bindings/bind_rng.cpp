// The core's RNG, exposed so tests can check its streams and checkpoints can carry it.
// It keeps the GIL while drawing: an Rng has no guard of its own, so the GIL is what
// keeps two threads from advancing one stream at once.
#include <pybind11/stl.h>

#include <cmath>

#include "array_args.h"
#include "bindings.h"
#include "gankit/rng.h"

namespace py = pybind11;

namespace gankit_py {

void bind_rng(py::module_& m) {
  py::class_<gankit::Rng>(m, "Rng")
      .def(py::init<std::uint64_t>(), py::arg("seed"))
      .def("normal", [](gankit::Rng& rng, std::int64_t n) {
        row_count(n, "n");
        FloatArray out = new_vector(n);
        rng.fill_normal(out.mutable_data(), n);
        return out;
      }, py::arg("n"))
      .def("uniform", [](gankit::Rng& rng, std::int64_t n, float low, float high) {
        row_count(n, "n");
        // Finite bounds: an infinite width would turn every draw into NaN or Inf.
        if (!(low < high && std::isfinite(low) && std::isfinite(high)))
          throw py::value_error("low, high: expected finite low < high, got " +
                                std::to_string(low) + ", " + std::to_string(high));
        FloatArray out = new_vector(n);
        rng.fill_uniform(out.mutable_data(), n, low, high);
        return out;
      }, py::arg("n"), py::arg("low") = -1.0f, py::arg("high") = 1.0f)
      .def_property("state", &gankit::Rng::state, &gankit::Rng::set_state);
}

}  // namespace gankit_py
