// The allocation counter behind AlignedBuffer (see aligned_buffer.h).
#include "gankit/aligned_buffer.h"

#include <atomic>

namespace gankit {

namespace {
std::atomic<std::int64_t> g_allocations{0};
}

std::int64_t allocation_count() { return g_allocations.load(std::memory_order_relaxed); }
void note_allocation() { g_allocations.fetch_add(1, std::memory_order_relaxed); }

}  // namespace gankit
