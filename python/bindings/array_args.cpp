// Argument conversion and validation at the Python boundary (see array_args.h).
#include "array_args.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "gankit/limits.h"

namespace py = pybind11;

namespace gankit_py {

std::string shape_string(const py::array& a) {
  std::ostringstream out;
  out << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) out << (i ? ", " : "") << a.shape(i);
  out << (a.ndim() == 1 ? ",)" : ")");
  return out.str();
}

namespace {

py::array as_numeric_array(py::handle obj, const char* name) {
  py::array arr;
  try {
    arr = py::array::ensure(obj);
  } catch (const py::error_already_set&) {
    arr = py::array();
  }
  if (!arr) {
    throw py::type_error(std::string(name) + ": expected a float32 or float64 array, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  }
  const char kind = arr.dtype().kind();
  if (kind != 'f') {
    throw py::type_error(std::string(name) + ": expected a float32 or float64 array, got dtype " +
                         std::string(py::str(arr.dtype())));
  }
  return arr;
}

// NaN, Inf, and (for float64 input) values beyond float32's range, which the cast
// would turn into Inf. Checked on the source values so the message says which.
//
// Every array entering the core is scanned, so the scan must cost little next to the
// kernel it guards: a branch-free test per block of values, which the compiler turns
// into vector compares (`!(|v| <= max)` is true for NaN too, since every comparison
// with NaN is false), and the exact first offender is looked for only in a block that
// has one. Large arrays are scanned with the GIL released.
template <typename T>
py::ssize_t first_beyond_float32(const T* data, py::ssize_t n) {
  constexpr T kLimit = static_cast<T>(3.4028234663852886e38);  // FLT_MAX, exact in both types
  constexpr py::ssize_t kBlock = 2048;
  for (py::ssize_t start = 0; start < n; start += kBlock) {
    const py::ssize_t end = std::min(n, start + kBlock);
    int bad = 0;
    for (py::ssize_t i = start; i < end; ++i) bad |= !(std::fabs(data[i]) <= kLimit);
    if (bad == 0) continue;
    for (py::ssize_t i = start; i < end; ++i)
      if (!(std::fabs(data[i]) <= kLimit)) return i;
  }
  return -1;
}

template <typename T>
void require_finite_as_float32(const T* data, py::ssize_t n, const char* name) {
  constexpr py::ssize_t kReleaseGilFrom = 1 << 16;  // below, releasing costs more than it frees
  py::ssize_t bad;
  if (n >= kReleaseGilFrom) {
    py::gil_scoped_release release;  // the caller's array object keeps `data` alive
    bad = first_beyond_float32(data, n);
  } else {
    bad = first_beyond_float32(data, n);
  }
  if (bad < 0) return;
  const double value = static_cast<double>(data[bad]);
  std::ostringstream msg;
  msg << name << ": expected finite float32 values, got ";
  if (std::isnan(value)) msg << "NaN";
  else if (std::isinf(value)) msg << "Inf";
  else msg << value << " (beyond float32's range)";
  msg << " at flat index " << bad;
  throw py::value_error(msg.str());
}

void require_finite(const py::array& arr, const char* name) {
  if (arr.dtype().is(py::dtype::of<double>())) {
    auto c_order = py::array_t<double, py::array::c_style>::ensure(arr);
    require_finite_as_float32(c_order.data(), c_order.size(), name);
  } else {
    auto c_order = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(arr);
    require_finite_as_float32(c_order.data(), c_order.size(), name);
  }
}

// Converts dtype and memory order once, if needed (float64 -> float32 is a narrowing
// cast NumPy only does when asked: forcecast). require_finite has already refused
// values the cast would turn into Inf.
FloatArray to_float32(const py::array& arr, const char* name) {
  using Converting = py::array_t<float, py::array::c_style | py::array::forcecast>;
  Converting converted = Converting::ensure(arr);
  if (!converted)
    throw py::type_error(std::string(name) + ": could not convert dtype " +
                         std::string(py::str(arr.dtype())) + " to float32");
  return py::reinterpret_borrow<FloatArray>(converted);
}

}  // namespace

FloatArray as_matrix(py::handle obj, const char* name, std::int64_t cols) {
  py::array arr = as_numeric_array(obj, name);
  const std::string expected =
      cols < 0 ? std::string("a 2-D array (n, features)")
               : "a 2-D array of shape (n, " + std::to_string(cols) + ")";
  if (arr.ndim() != 2 || (cols >= 0 && arr.shape(1) != cols) || arr.shape(0) < 1 ||
      arr.shape(1) < 1) {
    throw py::value_error(std::string(name) + ": expected " + expected + " with n >= 1, got shape " +
                          shape_string(arr));
  }
  require_finite(arr, name);
  return to_float32(arr, name);
}

FloatArray as_vector(py::handle obj, const char* name, std::int64_t n) {
  py::array arr = as_numeric_array(obj, name);
  if (arr.ndim() != 1 || arr.shape(0) < 1 || (n >= 0 && arr.shape(0) != n)) {
    const std::string expected =
        n < 0 ? std::string("a non-empty 1-D array") : "a 1-D array of length " + std::to_string(n);
    throw py::value_error(std::string(name) + ": expected " + expected + ", got shape " +
                          shape_string(arr));
  }
  require_finite(arr, name);
  return to_float32(arr, name);
}

FloatArray as_inplace(py::handle obj, const char* name, std::int64_t n) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a float32 NumPy array updated in place, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  py::array arr = py::reinterpret_borrow<py::array>(obj);
  if (!arr.dtype().is(py::dtype::of<float>()))
    throw py::type_error(std::string(name) + ": expected dtype float32 (updated in place, so not "
                         "converted), got " + std::string(py::str(arr.dtype())));
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array (updated in place, "
                          "so not copied), got a strided view");
  if (!arr.writeable())
    throw py::value_error(std::string(name) + ": expected a writable array, got a read-only one");
  if (n >= 0 && arr.size() != n)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(n) +
                          " elements, got shape " + shape_string(arr));
  if (arr.size() < 1)
    throw py::value_error(std::string(name) + ": expected a non-empty array, got shape " +
                          shape_string(arr));
  return py::reinterpret_borrow<FloatArray>(obj);
}

FloatArray new_matrix(std::int64_t rows, std::int64_t cols) {
  return FloatArray({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
}

FloatArray new_vector(std::int64_t n) { return FloatArray({static_cast<py::ssize_t>(n)}); }

std::int64_t positive_count(std::int64_t value, const char* name) {
  if (value < 1)
    throw py::value_error(std::string(name) + ": expected a positive integer, got " +
                          std::to_string(value));
  return value;
}

std::int64_t row_count(std::int64_t value, const char* name) {
  if (value < 1 || value > gankit::kMaxRows)
    throw py::value_error(std::string(name) + ": expected an integer in [1, " +
                          std::to_string(gankit::kMaxRows) + "], got " + std::to_string(value));
  return value;
}

}  // namespace gankit_py
