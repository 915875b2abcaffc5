// What one parallel region per training step would save over one region per kernel:
// the cost of opening a region (fork + join) next to a barrier inside a region that
// stays open, for work cut like a small product of the step (two chunks of ~10 us).
//
//   cmake -S cpp -B build-cpp -DGANKIT_BUILD_BENCH=ON && cmake --build build-cpp -j
//   ./build-cpp/gankit_omp_regions [repeats]
//
// Prints, per repeat, the time of one unit of work alone and each way's time per unit
// over 5,000 units on two threads; the overheads are the differences. Uses OpenMP only,
// none of the core: it measures the runtime and the machine, not gankit.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// About 10 us of dependent float work on one chunk (kept in L1).
float work(float* chunk, int n) {
  float sum = 0.0f;
  for (int pass = 0; pass < 20; ++pass)
    for (int i = 0; i < n; ++i) {
      chunk[i] = chunk[i] * 0.999f + 1e-3f;
      sum += chunk[i];
    }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  constexpr int kUnits = 5000, kChunk = 512;
  std::vector<float> data(2 * kChunk, 1.0f);
  for (int r = 0; r < repeats; ++r) {
    double start = seconds_now();
    for (int u = 0; u < kUnits; ++u) data[0] += work(data.data(), kChunk);
    const double alone = (seconds_now() - start) / kUnits;

    start = seconds_now();
    for (int u = 0; u < kUnits; ++u) {
#pragma omp parallel for schedule(static) num_threads(2)
      for (int c = 0; c < 2; ++c) data[c * kChunk] += work(data.data() + c * kChunk, kChunk);
    }
    const double region_each = (seconds_now() - start) / kUnits;

    start = seconds_now();
#pragma omp parallel num_threads(2)
    for (int u = 0; u < kUnits; ++u) {
#pragma omp for schedule(static)
      for (int c = 0; c < 2; ++c) data[c * kChunk] += work(data.data() + c * kChunk, kChunk);
    }
    const double one_region = (seconds_now() - start) / kUnits;

    std::printf("work alone %6.2f us; a region per unit %6.2f us (+%.2f); one region, a barrier per unit %6.2f us (+%.2f)\n",
                alone * 1e6, region_each * 1e6, (region_each - alone) * 1e6, one_region * 1e6,
                (one_region - alone) * 1e6);
  }
  return data[0] > 0.0f ? 0 : 1;  // keeps the work observable
}
