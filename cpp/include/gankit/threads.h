// Thread count used by every parallel kernel of the core. Starts from OpenMP's
// default (which follows OMP_NUM_THREADS) and can be changed at run time.
#pragma once
#include <cstdint>

namespace gankit {

bool has_openmp();
int num_threads();             // threads a kernel may use (1 without OpenMP)
void set_num_threads(int n);   // n >= 1; clamped to 1 without OpenMP

// Threads worth using for `work` independent units of `flops_per_unit` each: small
// problems stay serial because waking a team costs more than they take.
int threads_for(std::int64_t units, double flops_per_unit);

}  // namespace gankit
