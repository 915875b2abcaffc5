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
    void* fresh = std::aligned_alloc(kBufferAlignment, bytes);
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
