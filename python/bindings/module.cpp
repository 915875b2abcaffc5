// gankit._core: the pybind11 module over the C++ core.
#include "bindings.h"

#include "gankit/busy_guard.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "gankit's C++ core: dense, batch-norm, maxout and dropout layers, GAN losses, optimizers and training steps";
  pybind11::register_exception<gankit::ConcurrentUseError>(m, "ConcurrentUseError",
                                                           PyExc_RuntimeError);
  gankit_py::bind_build_info(m);
  gankit_py::bind_kernels(m);
  gankit_py::bind_layers(m);
  gankit_py::bind_rng(m);
  gankit_py::bind_mlp(m);
  gankit_py::bind_gan(m);
}
