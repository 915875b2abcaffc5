// What was built and what runs: reported by gankit.build_info().
#pragma once
#include <cstdint>
#include <string>

namespace gankit {

// One data cache level of the core the library runs on; zeros where unknown.
struct CacheLevelInfo {
  std::int64_t size_bytes;
  int ways;
  int line_bytes;
  int shared_by;  // logical CPUs sharing it
};

struct CacheInfo {
  CacheLevelInfo l1d, l2, l3;
  std::string source;  // "sysfs", "cpuid" or "unknown"
};

// The cache blocking the GEMM in use runs with (gemm/blocking.h): kc decides the bits of
// a product, so two machines agree to the bit when they run the same kernel and kc.
struct GemmBlockingInfo {
  std::int64_t mc, kc, nc;
  std::string source;  // "model", "kernel", either with "+GANKIT_GEMM_BLOCKING"
};

struct BuildInfo {
  std::string version;
  std::string compiler;
  std::string gemm_kernel;
  bool openmp;
  int num_threads;
  CacheInfo caches;
  GemmBlockingInfo gemm_blocking;
};

BuildInfo build_info();

}  // namespace gankit
