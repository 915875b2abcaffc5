// Turning Python arguments into the core's float32 buffers, once, at the boundary.
// Accepts float16/32/64 arrays (or nested sequences of numbers) in any memory order and
// converts them to C-contiguous float32. Refuses, with a message naming the argument,
// the expected and the given: non-float dtypes (TypeError), wrong ndim or shape, empty
// arrays and NaN/Inf values (ValueError).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

namespace gankit_py {

using FloatArray = pybind11::array_t<float, pybind11::array::c_style>;

// A 2-D (rows, cols) float32 array with rows >= 1; cols < 0 accepts any width.
FloatArray as_matrix(pybind11::handle obj, const char* name, std::int64_t cols);

// A 1-D float32 array of length n (n < 0: any length >= 1).
FloatArray as_vector(pybind11::handle obj, const char* name, std::int64_t n);

// An output buffer updated in place: must already be a writable C-contiguous float32
// array of `n` elements (n < 0: any size). Never converted, since a copy would silently drop the update.
FloatArray as_inplace(pybind11::handle obj, const char* name, std::int64_t n);

// "(3, 2)" for error messages.
std::string shape_string(const pybind11::array& a);

// A fresh C-contiguous float32 result array.
FloatArray new_matrix(std::int64_t rows, std::int64_t cols);
FloatArray new_vector(std::int64_t n);

// Raises ValueError naming `name` unless value >= 1; returns it.
std::int64_t positive_count(std::int64_t value, const char* name);

// Raises ValueError naming `name` unless 1 <= value <= gankit::kMaxRows: a number of
// rows (or elements) to allocate, checked before the allocation is sized from it.
std::int64_t row_count(std::int64_t value, const char* name);

}  // namespace gankit_py
