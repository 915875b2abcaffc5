// What one barrier among the core's threads costs on this machine (see threads.h).
//
// A barrier is a round trip of cache lines between the threads' cores, so its cost says
// how close the host put them. On this project's 2-vCPU VMs it flips between 0.19-0.23
// us in some minutes and 0.39-0.47 us in others, every few tens of seconds; in the
// slower minutes each thread's loads and stores also run up to 1.35x slower while the
// other thread works (a register-only FMA loop does not slow), and toy2d at 2 threads
// takes 0.55 ms an iteration instead of 0.32. Benchmarks report it beside their
// multi-threaded figures, which move with it in every framework.
#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>

#include "gankit/threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gankit {

namespace {

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

#ifdef _OPENMP
// Seconds for one region of `threads` threads passing `barriers` barriers.
double timed_region(int threads, int barriers) {
  const double start = seconds_now();
#pragma omp parallel num_threads(threads)
  {
    for (int i = 0; i < barriers; ++i) {
#pragma omp barrier
    }
  }
  return seconds_now() - start;
}
#endif

}  // namespace

double measure_barrier_us(int threads, int barriers) {
  if (threads < 2 || threads > kMaxThreads)
    throw std::invalid_argument("threads: expected an integer in [2, " + std::to_string(kMaxThreads) +
                                "] (a barrier needs two threads), got " + std::to_string(threads));
  if (barriers < 1 || barriers > 1000000)
    throw std::invalid_argument("barriers: expected an integer in [1, 1000000], got " +
                                std::to_string(barriers));
  if (!has_openmp() || serial_after_fork())
    throw std::runtime_error(has_openmp() ? "barrier cost: this fork child runs single-threaded (see "
                                            "gankit.set_num_threads)"
                                          : "barrier cost: gankit was built without OpenMP");
#ifdef _OPENMP
  // The region's own cost (waking the team, joining it) is what a region without
  // barriers takes; the best of three of each keeps a preempted run out.
  double with_barriers = std::numeric_limits<double>::infinity();
  double without = std::numeric_limits<double>::infinity();
  for (int repeat = 0; repeat < 3; ++repeat) {
    without = std::min(without, timed_region(threads, 0));
    with_barriers = std::min(with_barriers, timed_region(threads, barriers));
  }
  return std::max(0.0, with_barriers - without) / barriers * 1e6;
#else
  return 0.0;  // unreachable: refused above
#endif
}

}  // namespace gankit
