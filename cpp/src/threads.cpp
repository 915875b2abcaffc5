// The core's thread count. Kept in one place so every kernel agrees on it and so
// gankit.set_num_threads() changes it without touching OpenMP's global ICVs.
// Also makes the core safe to use after fork() (see threads.h).
#include "gankit/threads.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define GANKIT_HAVE_ATFORK 1
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

// Set in a fork child whose parent could not hand back its OpenMP pool.
std::atomic<bool> g_serial_after_fork{false};
// Whether the forking thread's pool was shut down in the prepare handler; read by the
// child handler (fork copies it), reset by the parent handler.
bool g_pool_released_for_fork = true;

// Below this many flops a parallel region costs more (a few microseconds to wake the
// team) than the work it splits.
constexpr double kMinFlopsPerThread = 2.0e5;

#ifdef GANKIT_HAVE_ATFORK
// GNU libgomp keeps a pool of worker threads per thread that opened a parallel region
// and reuses it for the next region; a forked child inherits the bookkeeping but not the
// threads. omp_pause_resource_all joins the calling thread's idle workers and frees its
// pool (it refuses, returning non-zero, inside a parallel region). Other runtimes (LLVM's
// libomp) reinitialise themselves in the child and need nothing from us.
void release_pool_before_fork() {
#if defined(_OPENMP) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 9
  // GCC's omp.h declares the pause API from GCC 9 on, though _OPENMP still says 4.5.
  g_pool_released_for_fork = omp_pause_resource_all(omp_pause_soft) == 0;
#else
  g_pool_released_for_fork = true;
#endif
}

void after_fork_in_parent() { g_pool_released_for_fork = true; }

void after_fork_in_child() {
  if (!g_pool_released_for_fork) {
    g_serial_after_fork.store(true, std::memory_order_relaxed);
    g_num_threads.store(1, std::memory_order_relaxed);
  }
}

// Registered once, when the core is loaded (this file is always linked: every kernel
// asks it for a thread count).
[[maybe_unused]] const bool g_atfork_registered =
    pthread_atfork(release_pool_before_fork, after_fork_in_parent, after_fork_in_child) == 0;
#endif
}  // namespace

bool has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

int num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

bool serial_after_fork() { return g_serial_after_fork.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("n: expected a number of threads in [1, " +
                                std::to_string(kMaxThreads) + "], got " + std::to_string(n));
  const bool serial = !has_openmp() || serial_after_fork();
  g_num_threads.store(serial ? 1 : n, std::memory_order_relaxed);
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
