// build_info(): compiler, kernel, OpenMP and threads, as built and as running.
#include "gankit/build_info.h"

#include "gankit/gemm.h"
#include "gankit/threads.h"

#ifndef GANKIT_COMPILER
#define GANKIT_COMPILER "unknown"
#endif
#ifndef GANKIT_VERSION
#define GANKIT_VERSION "0.1.0"
#endif

namespace gankit {

BuildInfo build_info() {
  return BuildInfo{GANKIT_VERSION, GANKIT_COMPILER, gemm_kernel_name(), has_openmp(),
                   num_threads()};
}

}  // namespace gankit
