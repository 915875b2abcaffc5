// The batch-norm, maxout and dropout kernels, exposed for tests and benchmarks. Each
// unpacks and validates its arrays (shapes, finiteness, index ranges), then releases the
// GIL for the kernel itself. Functional: inputs are never modified, results are new arrays.
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>

#include "array_args.h"
#include "bindings.h"
#include "gankit/batchnorm.h"
#include "gankit/dropout.h"
#include "gankit/maxout.h"

namespace py = pybind11;

namespace gankit_py {

std::vector<std::int64_t> segment_arg(py::handle segments, std::int64_t batch) {
  if (segments.is_none()) return {batch};
  std::vector<std::int64_t> rows;
  try {
    rows = segments.cast<std::vector<std::int64_t>>();
  } catch (const py::cast_error&) {
    throw py::type_error("segments: expected a list of row counts, got " +
                         std::string(py::str(py::type::of(segments).attr("__name__"))));
  }
  std::int64_t total = 0;
  for (std::size_t s = 0; s < rows.size(); ++s) {
    if (rows[s] < 1)
      throw py::value_error("segments[" + std::to_string(s) + "]: expected a positive row count, got " +
                            std::to_string(rows[s]));
    total += rows[s];
  }
  if (rows.empty() || total != batch)
    throw py::value_error("segments: expected row counts summing to the batch's " +
                          std::to_string(batch) + " rows, got " + std::string(py::str(segments)));
  return rows;
}

namespace {

using ByteArray = py::array_t<std::uint8_t, py::array::c_style>;

// A (rows, cols) uint8 array whose values are all <= max_value (indices the backward
// kernels use to address memory, so checked, not trusted).
ByteArray as_byte_matrix(py::handle obj, const char* name, std::int64_t rows, std::int64_t cols,
                         int max_value, const char* produced_by) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a uint8 NumPy array as " + produced_by +
                         " returns it, got " + std::string(py::str(py::type::of(obj).attr("__name__"))));
  py::array arr = py::reinterpret_borrow<py::array>(obj);
  if (!arr.dtype().is(py::dtype::of<std::uint8_t>()))
    throw py::type_error(std::string(name) + ": expected dtype uint8 as " + produced_by +
                         " returns it, got " + std::string(py::str(arr.dtype())));
  if (arr.ndim() != 2 || arr.shape(0) != rows || arr.shape(1) != cols)
    throw py::value_error(std::string(name) + ": expected shape (" + std::to_string(rows) + ", " +
                          std::to_string(cols) + "), got " + shape_string(arr));
  ByteArray bytes = ByteArray::ensure(arr);
  const std::uint8_t* data = bytes.data();
  for (py::ssize_t i = 0; i < bytes.size(); ++i)
    if (data[i] > max_value)
      throw py::value_error(std::string(name) + ": expected values in [0, " +
                            std::to_string(max_value) + "], got " + std::to_string(data[i]) +
                            " at flat index " + std::to_string(i));
  return bytes;
}

ByteArray new_byte_matrix(std::int64_t rows, std::int64_t cols) {
  return ByteArray({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
}

FloatArray copy_of(const FloatArray& a) {
  FloatArray out(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
  std::copy_n(a.data(), a.size(), out.mutable_data());
  return out;
}

void require_nonnegative(const FloatArray& a, const char* name) {
  const float* data = a.data();
  for (py::ssize_t i = 0; i < a.size(); ++i)
    if (data[i] < 0.0f)
      throw py::value_error(std::string(name) + ": expected variances >= 0, got " +
                            std::to_string(data[i]) + " at index " + std::to_string(i));
}

void require_same_rows(const FloatArray& a, const char* name, std::int64_t rows) {
  if (a.shape(0) != rows)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(rows) +
                          " rows like z, got " + std::to_string(a.shape(0)));
}

// Returns (y, mean, rstd, running_mean, running_var): the statistics per segment
// (num_segments, features) and the updated running statistics (copies; the inputs are
// left alone). running_mean/var default to a fresh layer's 0 and 1.
py::tuple batchnorm_forward_training(py::handle z_obj, py::handle gamma_obj, py::handle beta_obj,
                                     py::handle running_mean_obj, py::handle running_var_obj,
                                     py::handle segments_obj, float eps, float momentum) {
  FloatArray z = as_matrix(z_obj, "z", -1);
  const std::int64_t rows = z.shape(0), features = z.shape(1);
  FloatArray gamma = as_vector(gamma_obj, "gamma", features);
  FloatArray beta = as_vector(beta_obj, "beta", features);
  FloatArray running_mean = new_vector(features), running_var = new_vector(features);
  std::fill_n(running_mean.mutable_data(), features, 0.0f);
  std::fill_n(running_var.mutable_data(), features, 1.0f);
  if (!running_mean_obj.is_none()) running_mean = copy_of(as_vector(running_mean_obj, "running_mean", features));
  if (!running_var_obj.is_none()) running_var = copy_of(as_vector(running_var_obj, "running_var", features));
  require_nonnegative(running_var, "running_var");
  const std::vector<std::int64_t> segments = segment_arg(segments_obj, rows);
  const auto num_segments = static_cast<std::int64_t>(segments.size());
  FloatArray y = new_matrix(rows, features);
  FloatArray mean = new_matrix(num_segments, features), rstd = new_matrix(num_segments, features);
  float *y_data = y.mutable_data(), *mean_data = mean.mutable_data(), *rstd_data = rstd.mutable_data();
  float *rm = running_mean.mutable_data(), *rv = running_var.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::batchnorm_forward_training(z.data(), gamma.data(), beta.data(), y_data, rows, features,
                                       segments.data(), num_segments, eps, momentum, mean_data,
                                       rstd_data, rm, rv);
  }
  return py::make_tuple(y, mean, rstd, running_mean, running_var);
}

// Returns (d_z, d_gamma, d_beta) given the forward's z, gamma and per-segment mean/rstd.
py::tuple batchnorm_backward_training(py::handle z_obj, py::handle gamma_obj, py::handle mean_obj,
                                      py::handle rstd_obj, py::handle d_y_obj,
                                      py::handle segments_obj) {
  FloatArray z = as_matrix(z_obj, "z", -1);
  const std::int64_t rows = z.shape(0), features = z.shape(1);
  FloatArray gamma = as_vector(gamma_obj, "gamma", features);
  FloatArray d_y = as_matrix(d_y_obj, "d_y", features);
  require_same_rows(d_y, "d_y", rows);
  const std::vector<std::int64_t> segments = segment_arg(segments_obj, rows);
  const auto num_segments = static_cast<std::int64_t>(segments.size());
  FloatArray mean = as_matrix(mean_obj, "mean", features);
  FloatArray rstd = as_matrix(rstd_obj, "rstd", features);
  if (mean.shape(0) != num_segments || rstd.shape(0) != num_segments)
    throw py::value_error("mean and rstd: expected one row per segment (" + std::to_string(num_segments) +
                          "), got " + std::to_string(mean.shape(0)) + " and " + std::to_string(rstd.shape(0)));
  FloatArray d_z = new_matrix(rows, features);
  FloatArray d_gamma = new_vector(features), d_beta = new_vector(features);
  float *d_z_data = d_z.mutable_data(), *d_gamma_data = d_gamma.mutable_data();
  float* d_beta_data = d_beta.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::batchnorm_backward_training(z.data(), gamma.data(), mean.data(), rstd.data(), d_y.data(),
                                        d_z_data, d_gamma_data, d_beta_data, rows, features,
                                        segments.data(), num_segments);
  }
  return py::make_tuple(d_z, d_gamma, d_beta);
}

FloatArray batchnorm_forward_inference(py::handle z_obj, py::handle gamma_obj, py::handle beta_obj,
                                       py::handle running_mean_obj, py::handle running_var_obj,
                                       float eps) {
  FloatArray z = as_matrix(z_obj, "z", -1);
  const std::int64_t rows = z.shape(0), features = z.shape(1);
  FloatArray gamma = as_vector(gamma_obj, "gamma", features);
  FloatArray beta = as_vector(beta_obj, "beta", features);
  FloatArray running_mean = as_vector(running_mean_obj, "running_mean", features);
  FloatArray running_var = as_vector(running_var_obj, "running_var", features);
  require_nonnegative(running_var, "running_var");
  FloatArray y = new_matrix(rows, features);
  float* y_data = y.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::batchnorm_forward_inference(z.data(), gamma.data(), beta.data(), running_mean.data(),
                                        running_var.data(), y_data, rows, features, eps);
  }
  return y;
}

py::tuple batchnorm_backward_inference(py::handle z_obj, py::handle gamma_obj,
                                       py::handle running_mean_obj, py::handle running_var_obj,
                                       py::handle d_y_obj, float eps) {
  FloatArray z = as_matrix(z_obj, "z", -1);
  const std::int64_t rows = z.shape(0), features = z.shape(1);
  FloatArray gamma = as_vector(gamma_obj, "gamma", features);
  FloatArray running_mean = as_vector(running_mean_obj, "running_mean", features);
  FloatArray running_var = as_vector(running_var_obj, "running_var", features);
  require_nonnegative(running_var, "running_var");
  FloatArray d_y = as_matrix(d_y_obj, "d_y", features);
  require_same_rows(d_y, "d_y", rows);
  FloatArray d_z = new_matrix(rows, features);
  FloatArray d_gamma = new_vector(features), d_beta = new_vector(features);
  float *d_z_data = d_z.mutable_data(), *d_gamma_data = d_gamma.mutable_data();
  float* d_beta_data = d_beta.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::batchnorm_backward_inference(z.data(), gamma.data(), running_mean.data(),
                                         running_var.data(), d_y.data(), d_z_data, d_gamma_data,
                                         d_beta_data, rows, features, eps);
  }
  return py::make_tuple(d_z, d_gamma, d_beta);
}

std::int64_t units_of(const FloatArray& z, std::int64_t pieces) {
  gankit::validate_maxout_pieces(pieces);
  if (z.shape(1) % pieces != 0)
    throw py::value_error("z: expected a width divisible by pieces=" + std::to_string(pieces) +
                          " (units * pieces, piece-major), got " + std::to_string(z.shape(1)));
  return z.shape(1) / pieces;
}

// Returns (h, argmax): h (rows, units) float32 and argmax (rows, units) uint8.
py::tuple maxout_forward(py::handle z_obj, std::int64_t pieces) {
  FloatArray z = as_matrix(z_obj, "z", -1);
  const std::int64_t rows = z.shape(0), units = units_of(z, pieces);
  FloatArray h = new_matrix(rows, units);
  ByteArray argmax = new_byte_matrix(rows, units);
  float* h_data = h.mutable_data();
  std::uint8_t* argmax_data = argmax.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::maxout_forward(z.data(), h_data, argmax_data, rows, units, pieces);
  }
  return py::make_tuple(h, argmax);
}

FloatArray maxout_backward(py::handle d_h_obj, py::handle argmax_obj, std::int64_t pieces) {
  gankit::validate_maxout_pieces(pieces);
  FloatArray d_h = as_matrix(d_h_obj, "d_h", -1);
  const std::int64_t rows = d_h.shape(0), units = d_h.shape(1);
  ByteArray argmax = as_byte_matrix(argmax_obj, "argmax", rows, units, static_cast<int>(pieces) - 1,
                                    "maxout_forward");
  FloatArray d_z = new_matrix(rows, units * pieces);
  float* d_z_data = d_z.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::maxout_backward(d_h.data(), argmax.data(), d_z_data, rows, units, pieces);
  }
  return d_z;
}

// Returns (y, mask): y like x, mask (rows, units) uint8 with 1 = kept.
py::tuple dropout_forward(py::handle x_obj, float p, std::uint64_t seed, std::uint64_t counter,
                          std::uint64_t layer) {
  gankit::validate_dropout_rate(p);
  FloatArray x = as_matrix(x_obj, "x", -1);
  const std::int64_t rows = x.shape(0), units = x.shape(1);
  FloatArray y = new_matrix(rows, units);
  ByteArray mask = new_byte_matrix(rows, units);
  float* y_data = y.mutable_data();
  std::uint8_t* mask_data = mask.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::dropout_forward(x.data(), y_data, mask_data, rows * units, p, seed, counter, layer);
  }
  return py::make_tuple(y, mask);
}

FloatArray dropout_backward(py::handle d_y_obj, py::handle mask_obj, float p) {
  gankit::validate_dropout_rate(p);
  FloatArray d_y = as_matrix(d_y_obj, "d_y", -1);
  const std::int64_t rows = d_y.shape(0), units = d_y.shape(1);
  ByteArray mask = as_byte_matrix(mask_obj, "mask", rows, units, 1, "dropout_forward");
  FloatArray d_x = new_matrix(rows, units);
  float* d_x_data = d_x.mutable_data();
  {
    py::gil_scoped_release release;
    gankit::dropout_backward(d_y.data(), mask.data(), d_x_data, rows * units, p);
  }
  return d_x;
}

// The raw 32-bit hash values behind the mask of elements 0..n-1, for tests of the hash.
py::array_t<std::uint32_t> dropout_bits(std::uint64_t seed, std::uint64_t counter,
                                        std::uint64_t layer, std::int64_t n) {
  positive_count(n, "n");
  py::array_t<std::uint32_t> out(static_cast<py::ssize_t>(n));
  std::uint32_t* data = out.mutable_data();
  const std::uint64_t key = gankit::dropout_key(seed, counter, layer);
  for (std::int64_t i = 0; i < n; ++i) data[i] = gankit::dropout_bits(key, i);
  return out;
}

}  // namespace

void bind_layers(py::module_& m) {
  m.def("batchnorm_forward_training", &batchnorm_forward_training, py::arg("z"), py::arg("gamma"),
        py::arg("beta"), py::arg("running_mean") = py::none(), py::arg("running_var") = py::none(),
        py::arg("segments") = py::none(), py::arg("eps") = 1e-5f, py::arg("momentum") = 0.1f,
        "(y, mean, rstd, running_mean, running_var) of batch norm with batch statistics per segment.");
  m.def("batchnorm_backward_training", &batchnorm_backward_training, py::arg("z"), py::arg("gamma"),
        py::arg("mean"), py::arg("rstd"), py::arg("d_y"), py::arg("segments") = py::none(),
        "(d_z, d_gamma, d_beta) of training-mode batch norm.");
  m.def("batchnorm_forward_inference", &batchnorm_forward_inference, py::arg("z"), py::arg("gamma"),
        py::arg("beta"), py::arg("running_mean"), py::arg("running_var"), py::arg("eps") = 1e-5f);
  m.def("batchnorm_backward_inference", &batchnorm_backward_inference, py::arg("z"),
        py::arg("gamma"), py::arg("running_mean"), py::arg("running_var"), py::arg("d_y"),
        py::arg("eps") = 1e-5f);
  m.def("maxout_forward", &maxout_forward, py::arg("z"), py::arg("pieces"),
        "(h, argmax) for piece-major z of shape (n, units * pieces).");
  m.def("maxout_backward", &maxout_backward, py::arg("d_h"), py::arg("argmax"), py::arg("pieces"));
  m.def("dropout_forward", &dropout_forward, py::arg("x"), py::arg("p"), py::arg("seed"),
        py::arg("counter"), py::arg("layer") = 0, "(y, mask) of inverted dropout.");
  m.def("dropout_backward", &dropout_backward, py::arg("d_y"), py::arg("mask"), py::arg("p"));
  m.def("dropout_bits", &dropout_bits, py::arg("seed"), py::arg("counter"), py::arg("layer"),
        py::arg("n"));
}

}  // namespace gankit_py
