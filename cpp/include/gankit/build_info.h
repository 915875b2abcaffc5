// What was built and what runs: reported by gankit.build_info().
#pragma once
#include <string>

namespace gankit {

struct BuildInfo {
  std::string version;
  std::string compiler;
  std::string gemm_kernel;
  bool openmp;
  int num_threads;
};

BuildInfo build_info();

}  // namespace gankit
