// build_info(): compiler, kernel, its blocking, caches, OpenMP and threads, as built and
// as running.
#include "gankit/build_info.h"

#include "cpu/cache_info.h"
#include "gemm/blocking.h"
#include "gemm/ukernel.h"
#include "gankit/gemm.h"
#include "gankit/threads.h"

#ifndef GANKIT_COMPILER
#define GANKIT_COMPILER "unknown"
#endif
#ifndef GANKIT_VERSION
#define GANKIT_VERSION "0.1.0"
#endif

namespace gankit {

namespace {

CacheLevelInfo level_info(const cpu_detail::CacheLevel& level) {
  return CacheLevelInfo{level.size_bytes, level.ways, level.line_bytes, level.shared_by};
}

CacheInfo cache_info() {
  const cpu_detail::CacheHierarchy& caches = cpu_detail::cache_hierarchy();
  return CacheInfo{level_info(caches.l1d), level_info(caches.l2), level_info(caches.l3), caches.source};
}

GemmBlockingInfo active_blocking() {
  const gemm_detail::ChosenBlocking& chosen =
      gemm_detail::blocking_for(gemm_detail::active_micro_kernel());
  return GemmBlockingInfo{chosen.blocking.mc, chosen.blocking.kc, chosen.blocking.nc, chosen.source};
}

}  // namespace

BuildInfo build_info() {
  return BuildInfo{GANKIT_VERSION, GANKIT_COMPILER, gemm_kernel_name(), has_openmp(),
                   num_threads(),  cache_info(),     active_blocking()};
}

}  // namespace gankit
