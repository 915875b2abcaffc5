// The core's thread count. Kept in one place so every kernel agrees on it and so
// gankit.set_num_threads() changes it without touching OpenMP's global ICVs.
#include "gankit/threads.h"

#include <algorithm>
#include <atomic>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gankit {

namespace {
int initial_threads() {
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());  // follows OMP_NUM_THREADS
#else
  return 1;
#endif
}
std::atomic<int> g_num_threads{initial_threads()};

// Below this many flops a parallel region costs more (a few microseconds to wake the
// team) than the work it splits.
constexpr double kMinFlopsPerThread = 2.0e5;
}  // namespace

bool has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

int num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  g_num_threads.store(has_openmp() ? std::max(1, n) : 1, std::memory_order_relaxed);
}

int threads_for(std::int64_t units, double flops_per_unit) {
  const int max_threads = num_threads();
  if (max_threads <= 1 || units <= 1) return 1;
#ifdef _OPENMP
  // Already on a team (a kernel called from inside another's parallel region): its
  // thread does this part alone rather than open a nested region of one.
  if (omp_in_parallel()) return 1;
#endif
  const double total = static_cast<double>(units) * flops_per_unit;
  const auto by_work = static_cast<std::int64_t>(total / kMinFlopsPerThread);
  const std::int64_t useful = std::min<std::int64_t>({by_work, units, max_threads});
  return static_cast<int>(std::max<std::int64_t>(1, useful));
}

}  // namespace gankit
