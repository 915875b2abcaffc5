// One bind_* function per concern, each in its own file, called from module.cpp.
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

namespace gankit_py {

void bind_build_info(pybind11::module_& m);
void bind_kernels(pybind11::module_& m);
void bind_layers(pybind11::module_& m);
void bind_rng(pybind11::module_& m);
void bind_mlp(pybind11::module_& m);
void bind_gan(pybind11::module_& m);

// A `segments` argument (bind_layers.cpp): None is the whole batch as one segment, else a
// list of positive row counts summing to `batch` (ValueError/TypeError otherwise).
std::vector<std::int64_t> segment_arg(pybind11::handle segments, std::int64_t batch);

}  // namespace gankit_py
