// Thread count used by every parallel kernel of the core. Starts from OpenMP's
// default (which follows OMP_NUM_THREADS) and can be changed at run time.
//
// fork(): GNU libgomp cannot start a parallel region in a child forked from a thread
// that had one before: it waits forever for pool threads that fork did not copy. The
// core therefore registers a pthread_atfork handler that, just before fork, shuts down
// the forking thread's idle OpenMP pool (omp_pause_resource_all), so the child starts
// a fresh team when it first needs one and runs with the parent's thread count. If
// that is not possible (a fork from inside a parallel region, or a runtime without the
// OpenMP 5.0 pause API), the child runs every kernel on one thread instead:
// num_threads() reports 1 there and set_num_threads() cannot raise it.
#pragma once
#include <cstdint>

namespace gankit {

constexpr int kMaxThreads = 1024;  // more would only exhaust the process's thread limit

bool has_openmp();
int num_threads();             // threads a kernel may use (1 without OpenMP)
void set_num_threads(int n);   // 1 <= n <= kMaxThreads (else std::invalid_argument);
                               // clamped to 1 without OpenMP or in a serial fork child
bool serial_after_fork();      // true in a fork child that must stay single-threaded

// Threads worth using for `work` independent units of `flops_per_unit` each: small
// problems stay serial because waking a team costs more than they take.
int threads_for(std::int64_t units, double flops_per_unit);

// Microseconds one OpenMP barrier among `threads` (2..kMaxThreads) threads takes here,
// from `barriers` (1..10^6) of them in one region (barrier_cost.cpp). Throws
// std::invalid_argument for other arguments, std::runtime_error without OpenMP or in a
// fork child that must stay serial.
double measure_barrier_us(int threads, int barriers);

}  // namespace gankit
