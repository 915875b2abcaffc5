// build_info, threads, the allocation counter and the step profile.
#include <pybind11/stl.h>

#include "bindings.h"
#include "gankit/aligned_buffer.h"
#include "gankit/build_info.h"
#include "gankit/activation.h"
#include "gankit/gemm.h"
#include "gankit/limits.h"
#include "gankit/step_profile.h"
#include "gankit/threads.h"

namespace py = pybind11;

namespace gankit_py {

namespace {

py::dict cache_level(const gankit::CacheLevelInfo& level) {
  py::dict d;
  d["size_bytes"] = level.size_bytes;
  d["ways"] = level.ways;
  d["line_bytes"] = level.line_bytes;
  d["shared_by"] = level.shared_by;
  return d;
}

}  // namespace

void bind_build_info(py::module_& m) {
  m.def("build_info", [] {
    const gankit::BuildInfo info = gankit::build_info();
    py::dict d;
    d["version"] = info.version;
    d["compiler"] = info.compiler;
    d["kernel"] = info.gemm_kernel;
    d["elementwise_kernel"] = gankit::activation_kernel_name();
    d["available_kernels"] = gankit::gemm_available_kernels();
    // The kernel of precision "bf16" products, None where this CPU has none.
    const std::string bf16 = gankit::gemm_bf16_kernel_name();
    d["bf16_kernel"] = bf16.empty() ? py::object(py::none()) : py::object(py::str(bf16));
    py::dict blocking;
    blocking["kc"] = info.gemm_blocking.kc;
    blocking["mc"] = info.gemm_blocking.mc;
    blocking["nc"] = info.gemm_blocking.nc;
    blocking["source"] = info.gemm_blocking.source;
    d["gemm_blocking"] = blocking;
    py::dict caches;
    caches["l1d"] = cache_level(info.caches.l1d);
    caches["l2"] = cache_level(info.caches.l2);
    caches["l3"] = cache_level(info.caches.l3);
    caches["source"] = info.caches.source;
    d["caches"] = caches;
    d["openmp"] = info.openmp;
    d["num_threads"] = info.num_threads;
    return d;
  });
  m.def("num_threads", &gankit::num_threads);
  m.def("set_num_threads", &gankit::set_num_threads, py::arg("n"));
  m.def("serial_after_fork", &gankit::serial_after_fork,
        "True in a fork child that runs every kernel on one thread (see threads.h).");
  // The core's size limits (gankit/limits.h, threads.h), so Python checks the same bounds.
  m.attr("MAX_ROWS") = gankit::kMaxRows;
  m.attr("MAX_PACK") = gankit::kMaxPack;
  m.attr("MAX_WIDTH") = gankit::kMaxWidth;
  m.attr("MAX_PARAMS") = gankit::kMaxParams;
  m.attr("MAX_THREADS") = gankit::kMaxThreads;
  m.def("allocation_count", &gankit::allocation_count,
        "Buffers the core has allocated so far (a steady-state step adds none).");
  m.def("step_profile_enable", &gankit::step_profile_enable, py::arg("on"),
        "Turn the per-phase timers of the GAN steps on or off (off by default).");
  m.def("step_profile_reset", &gankit::step_profile_reset);
  m.def("step_profile", [] {
    py::dict totals;
    for (const gankit::StepPhaseTotal& t : gankit::step_profile_totals())
      totals[t.name] = py::make_tuple(t.seconds, t.calls);
    return totals;
  }, "{phase: (seconds, calls)} accumulated since the last reset while profiling was on.");
}

}  // namespace gankit_py
