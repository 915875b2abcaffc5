// The data caches of the core the library runs on, read once: the inputs of the GEMM's
// cache blocking (gemm/blocking.h) and part of gankit.build_info().
//
// Sources, in order: Linux sysfs (/sys/devices/system/cpu/cpu0/cache, which the kernel
// fills from CPUID, or from the device tree off x86), then CPUID's deterministic cache
// parameters (leaf 4 on Intel, 0x8000001D on AMD) where there is no sysfs, else nothing:
// a level whose size is unknown stays at zero and the blocking falls back to each
// micro-kernel's own constants.
#pragma once
#include <cstdint>
#include <string>

namespace gankit {
namespace cpu_detail {

struct CacheLevel {
  std::int64_t size_bytes = 0;  // 0: unknown
  int ways = 0;                 // associativity; 0: unknown (or fully associative)
  int line_bytes = 0;
  int shared_by = 0;            // logical CPUs sharing this cache; 0: unknown

  bool known() const { return size_bytes > 0 && ways > 0 && line_bytes > 0; }
  // Bytes one way holds: the unit in which the blocking model counts.
  std::int64_t way_bytes() const { return known() ? size_bytes / ways : 0; }
};

struct CacheHierarchy {
  CacheLevel l1d;  // level 1, data (not the instruction cache)
  CacheLevel l2;
  CacheLevel l3;
  std::string source;  // "sysfs", "cpuid" or "unknown"
};

// Detected on the first call (thread-safe; safe from static initialisers).
const CacheHierarchy& cache_hierarchy();

// The data and unified caches described under `cache_dir` (the layout of
// /sys/devices/system/cpu/cpuN/cache: index*/{level,type,size,ways_of_associativity,
// coherency_line_size,shared_cpu_list}); source "sysfs", or "unknown" with every level
// zero when the directory has no L1 data cache. Separate from cache_hierarchy() so tests
// can read a tree of their own.
CacheHierarchy read_sysfs_caches(const std::string& cache_dir);

}  // namespace cpu_detail
}  // namespace gankit
