// Allocation for AlignedBuffer (see aligned_buffer.h): the counter and the huge-page
// policy.
#include "gankit/aligned_buffer.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define GANKIT_HAVE_POSIX_MEMALIGN 1
#endif

namespace gankit {

namespace {
std::atomic<std::int64_t> g_allocations{0};

// NumPy's switch for the same advice is NUMPY_MADVISE_HUGEPAGE; ours reads the same way.
bool huge_pages_from_environment() {
  const char* value = std::getenv("GANKIT_MADVISE_HUGEPAGE");
  return value == nullptr || std::strcmp(value, "0") != 0;
}
std::atomic<bool> g_huge_pages{huge_pages_from_environment()};
}  // namespace

std::int64_t allocation_count() { return g_allocations.load(std::memory_order_relaxed); }
void note_allocation() { g_allocations.fetch_add(1, std::memory_order_relaxed); }

void set_huge_pages(bool on) { g_huge_pages.store(on, std::memory_order_relaxed); }
bool huge_pages() { return g_huge_pages.load(std::memory_order_relaxed); }

void* allocate_buffer_bytes(std::size_t bytes) {
  const bool huge = bytes >= kHugePageBytes && huge_pages();
  const std::size_t alignment = huge ? kHugePageBytes : kBufferAlignment;
#ifdef GANKIT_HAVE_POSIX_MEMALIGN
  // posix_memalign, not aligned_alloc: no need to round the size up to 2 MiB, so a
  // buffer's last partial huge page stays on 4 KiB pages instead of a whole 2 MiB one.
  void* memory = nullptr;
  if (posix_memalign(&memory, alignment, bytes) != 0) return nullptr;
#ifdef MADV_HUGEPAGE
  // Advice only: an error (a kernel without THP) leaves ordinary pages.
  if (huge) (void)madvise(memory, bytes, MADV_HUGEPAGE);
#endif
  return memory;
#else
  return std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
#endif
}

}  // namespace gankit
