// A fixed-alignment float buffer owned by the C++ core. Grows on request and never
// shrinks, so a workspace sized once for a batch is reused without allocating.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace gankit {

// 64 bytes: one cache line and one AVX-512 register, so every buffer start is a
// valid aligned load for every kernel we ship.
constexpr std::size_t kBufferAlignment = 64;

// Counts every allocation the core makes, so tests can assert that a training step
// after the first allocates nothing.
std::int64_t allocation_count();
void note_allocation();

// Buffers of at least one huge page (2 MiB: the parameters, gradients and optimizer
// state of the larger networks) start on a huge-page boundary and are advised for
// transparent huge pages, as NumPy does for its arrays. Packing reads a weight
// matrix row after row and Adam streams four arrays at once; on 4 KiB pages the
// MNIST networks' 32 MB of such state needs 8,000 TLB entries, on huge pages 16.
// It costs nothing, since results are bitwise the same (every buffer stays at least
// 64-byte aligned), and what it gains the step is measured by cpp/bench/huge_pages.cpp.
// On by default; GANKIT_MADVISE_HUGEPAGE=0 in the environment turns it off, and
// set_huge_pages() changes it for buffers allocated afterwards. Linux honours the
// advice when /sys/kernel/mm/transparent_hugepage/enabled is [madvise] or [always];
// elsewhere only the alignment remains.
constexpr std::size_t kHugePageBytes = std::size_t(2) << 20;
void set_huge_pages(bool on);
bool huge_pages();

// `bytes` (a multiple of kBufferAlignment) of uninitialised memory, aligned to
// kBufferAlignment, or to kHugePageBytes and advised as above when it is at least
// that large. Null when out of memory; release with std::free.
void* allocate_buffer_bytes(std::size_t bytes);

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::int64_t count) { resize_discard(count); }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = other.data_;
      size_ = other.size_;
      other.data_ = nullptr;
      other.size_ = 0;
    }
    return *this;
  }

  // Ensures room for `count` floats. Contents are not preserved when it grows;
  // new memory is zeroed so an uninitialised read is at least deterministic.
  void resize_discard(std::int64_t count) {
    if (count <= size_) return;
    std::size_t bytes = static_cast<std::size_t>(count) * sizeof(float);
    bytes = (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
    void* fresh = allocate_buffer_bytes(bytes);
    if (fresh == nullptr) throw std::bad_alloc();
    note_allocation();
    std::memset(fresh, 0, bytes);
    std::free(data_);
    data_ = static_cast<float*>(fresh);
    size_ = count;
  }

  float* data() { return data_; }
  const float* data() const { return data_; }
  std::int64_t size() const { return size_; }

 private:
  float* data_ = nullptr;
  std::int64_t size_ = 0;
};

}  // namespace gankit
