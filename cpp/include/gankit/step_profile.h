// Where a GAN step spends its time: wall-clock totals per phase (noise, each network's
// forward and backward pass, the losses), accumulated by the steps when profiling is on.
// A network's optimizer update is part of its backward pass (Mlp::backward_and_update
// applies it as the weight gradients are made). Off by default; then a phase costs one
// relaxed atomic load. Read from Python through gankit.profiling; `gankit bench profile`
// reports it per iteration.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace gankit {

enum class StepPhase : int {
  noise = 0,
  generator_forward,
  discriminator_forward,
  losses,
  discriminator_backward,         // the input gradient only, in the generator step
  discriminator_backward_update,  // the discriminator step: gradients and update
  generator_backward_update,
  count
};

const char* step_phase_name(StepPhase phase);

void step_profile_enable(bool on);
void step_profile_reset();

struct StepPhaseTotal {
  const char* name;
  double seconds;
  std::int64_t calls;
};
std::vector<StepPhaseTotal> step_profile_totals();  // every phase, in enum order

namespace profile_detail {
extern std::atomic<bool> g_enabled;
void add(StepPhase phase, std::int64_t nanoseconds);
}  // namespace profile_detail

// Adds the time from construction to destruction to `phase`, when profiling is on.
class StepPhaseTimer {
 public:
  explicit StepPhaseTimer(StepPhase phase)
      : phase_(phase), on_(profile_detail::g_enabled.load(std::memory_order_relaxed)) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~StepPhaseTimer() {
    if (!on_) return;
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    profile_detail::add(phase_, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  }
  StepPhaseTimer(const StepPhaseTimer&) = delete;
  StepPhaseTimer& operator=(const StepPhaseTimer&) = delete;

 private:
  StepPhase phase_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace gankit
