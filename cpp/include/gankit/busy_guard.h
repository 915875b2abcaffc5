// Refuses concurrent use of one object from two threads. The kernels release the GIL,
// so two Python threads could otherwise step the same network at once and interleave
// writes into its workspaces. A second caller gets an error instead of corrupted state.
#pragma once
#include <atomic>
#include <stdexcept>
#include <string>

namespace gankit {

class ConcurrentUseError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class BusyGuard {
 public:
  BusyGuard(std::atomic<bool>& flag, const char* what) : flag_(flag) {
    if (flag_.exchange(true, std::memory_order_acquire))
      throw ConcurrentUseError(std::string(what) +
                               " is already in use by another thread; use one object per "
                               "thread or serialise the calls");
  }
  ~BusyGuard() { flag_.store(false, std::memory_order_release); }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  std::atomic<bool>& flag_;
};

}  // namespace gankit
