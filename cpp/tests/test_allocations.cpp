// A training step after the first allocates nothing at all: not a buffer of the core
// (allocation_count covers those), and not a std::vector, string or any other
// operator new behind the scenes. This file replaces the global operator new of the
// test binary to count every allocation while a test watches.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "gankit/aligned_buffer.h"
#include "gankit/gan.h"
#include "gankit/threads.h"
#include "test_harness.h"

namespace {
std::atomic<bool> g_watching{false};
std::atomic<std::int64_t> g_news{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_watching.load(std::memory_order_relaxed)) g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace gankit;

namespace {

// News and core buffers allocated by `steps` iterations after two warm-up iterations.
struct Allocations {
  std::int64_t news;
  std::int64_t buffers;
};

Allocations count_steady_state(const std::vector<std::int64_t>& g_sizes,
                               const std::vector<std::int64_t>& d_sizes, std::int64_t batch,
                               Activation g_output, int threads) {
  set_num_threads(threads);
  auto g = std::make_shared<Mlp>(g_sizes, Activation::leaky_relu, g_output, 0.2f);
  auto d = std::make_shared<Mlp>(d_sizes, Activation::leaky_relu, Activation::identity, 0.2f);
  Gan gan(g, d, g_sizes.front(), GeneratorLoss::non_saturating, NoiseKind::normal, 3);
  std::vector<float> x(batch * d_sizes.front(), 0.25f);
  for (int i = 0; i < 2; ++i) {
    gan.d_step(x.data(), batch, nullptr, batch);
    gan.g_step(nullptr, batch);
  }
  const std::int64_t buffers_before = allocation_count();
  g_news.store(0);
  g_watching.store(true);
  for (int i = 0; i < 5; ++i) {
    gan.d_step(x.data(), batch, nullptr, batch);
    gan.g_step(nullptr, batch);
  }
  g_watching.store(false);
  return {g_news.load(), allocation_count() - buffers_before};
}

}  // namespace

TEST_CASE(gan_steps_allocate_nothing_after_the_first) {
  // The counter itself works: a vector made while watching is seen.
  g_news.store(0);
  g_watching.store(true);
  auto probe = std::make_unique<std::vector<int>>(3);
  g_watching.store(false);
  CHECK(g_news.load() == 2);  // the unique_ptr's vector and the vector's storage
  probe.reset();

  const int saved = num_threads();
  // Every path of a step: the skinny GEMM (N = 1, 2), K = 2, the blocked GEMM with
  // packed and in-place A, tanh output, one and two threads.
  for (int threads : {1, 2}) {
    const Allocations toy = count_steady_state({2, 64, 64, 2}, {2, 64, 64, 1}, 200, Activation::identity, threads);
    CHECK(toy.news == 0);
    CHECK(toy.buffers == 0);
    const Allocations wide = count_steady_state({16, 300, 200}, {200, 300, 1}, 97, Activation::tanh, threads);
    CHECK(wide.news == 0);
    CHECK(wide.buffers == 0);
  }
  set_num_threads(saved);
}

TEST_CASE(buffers_of_a_huge_page_or_more_start_on_one) {
  const bool saved = huge_pages();
  const auto address = [](const AlignedBuffer& b) { return reinterpret_cast<std::uintptr_t>(b.data()); };
  const std::int64_t just_over = static_cast<std::int64_t>(kHugePageBytes / sizeof(float)) + 5;
  for (bool on : {true, false}) {
    set_huge_pages(on);
    AlignedBuffer large(just_over), small(1000);
    CHECK(address(large) % kBufferAlignment == 0);
    CHECK(address(small) % kBufferAlignment == 0);
    if (on) CHECK(address(large) % kHugePageBytes == 0);
    bool zeroed = true;
    for (std::int64_t i = 0; i < just_over; ++i) zeroed = zeroed && large.data()[i] == 0.0f;
    CHECK(zeroed);
  }
  set_huge_pages(saved);
}

TEST_CASE(huge_pages_change_no_bit_of_training) {
  // Parameters past 2 MiB (a 784 -> 1024 layer) on huge pages or not: every buffer is
  // 64-byte aligned either way, so no kernel takes another path.
  const bool saved = huge_pages();
  std::vector<float> trained[2];
  for (int run = 0; run < 2; ++run) {
    set_huge_pages(run == 0);
    auto g = std::make_shared<Mlp>(std::vector<std::int64_t>{16, 1024, 784}, Activation::leaky_relu,
                                   Activation::tanh, 0.2f);
    auto d = std::make_shared<Mlp>(std::vector<std::int64_t>{784, 1024, 1}, Activation::leaky_relu,
                                   Activation::identity, 0.2f);
    Gan gan(g, d, 16, GeneratorLoss::non_saturating, NoiseKind::normal, 5);
    std::vector<float> x(8 * 784);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) / 13.0f - 0.5f;
    for (int i = 0; i < 2; ++i) {
      gan.d_step(x.data(), 8, nullptr, 8);
      gan.g_step(nullptr, 8);
    }
    trained[run].assign(g->params(), g->params() + g->num_params());
    trained[run].insert(trained[run].end(), d->params(), d->params() + d->num_params());
  }
  CHECK(trained[0] == trained[1]);
  set_huge_pages(saved);
}
