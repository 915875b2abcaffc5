// replica_mean (see replica_mean.h): each output element is independent, so threads
// split the elements and every element keeps its rank-order sum.
#include "gankit/replica_mean.h"

#include <stdexcept>
#include <string>

#include "gankit/threads.h"

namespace gankit {

void replica_mean(const float* gathered, std::int64_t ranks, std::int64_t n, float* out) {
  if (ranks < 1) throw std::invalid_argument("ranks: expected >= 1, got " + std::to_string(ranks));
  if (n < 0) throw std::invalid_argument("n: expected >= 0, got " + std::to_string(n));
  const double divisor = static_cast<double>(ranks);
  const int nt = threads_for(n, static_cast<double>(ranks));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (std::int64_t j = 0; j < n; ++j) {
    double sum = 0.0;
    for (std::int64_t r = 0; r < ranks; ++r) sum += static_cast<double>(gathered[r * n + j]);
    out[j] = static_cast<float>(sum / divisor);  // the mean, rounded once
  }
}

}  // namespace gankit
