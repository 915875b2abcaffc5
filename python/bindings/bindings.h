// One bind_* function per concern, each in its own file, called from module.cpp.
#pragma once
#include <pybind11/pybind11.h>

namespace gankit_py {

void bind_build_info(pybind11::module_& m);
void bind_kernels(pybind11::module_& m);
void bind_rng(pybind11::module_& m);
void bind_mlp(pybind11::module_& m);
void bind_gan(pybind11::module_& m);

}  // namespace gankit_py
