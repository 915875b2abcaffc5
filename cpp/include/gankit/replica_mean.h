// Data-parallel training: the mean of the copies of one gradient buffer that R processes
// computed on their shards of a batch, in a fixed order.
//
//   gathered: (ranks, n) row-major, row r = rank r's gradients      out: (n)
//   out[j] = float((double(gathered[0][j]) + double(gathered[1][j]) + ... + double(gathered[R-1][j])) / R)
//
// MPI_Allreduce sums in an unspecified order, which has differed between ranks of one job
// and changes with the MPI library and its algorithm; gathering every copy and summing
// here in rank order, in float64, gives every rank the same bits at any thread count and
// on any MPI. Each rank's gradients are means over its equal shard, so their mean is the
// gradient of the mean over the whole batch. With one rank, out equals the input exactly.
#pragma once
#include <cstdint>

namespace gankit {

// Throws std::invalid_argument unless ranks >= 1 and n >= 0. out must not overlap gathered.
void replica_mean(const float* gathered, std::int64_t ranks, std::int64_t n, float* out);

}  // namespace gankit
