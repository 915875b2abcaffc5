// Per-phase totals of the GAN steps (see step_profile.h). Atomic counters: steps of
// two GANs on two threads may add at once.
#include "gankit/step_profile.h"

namespace gankit {

namespace {

constexpr int kPhases = static_cast<int>(StepPhase::count);
std::atomic<std::int64_t> g_nanoseconds[kPhases];
std::atomic<std::int64_t> g_calls[kPhases];

}  // namespace

namespace profile_detail {

std::atomic<bool> g_enabled{false};

void add(StepPhase phase, std::int64_t nanoseconds) {
  const int i = static_cast<int>(phase);
  g_nanoseconds[i].fetch_add(nanoseconds, std::memory_order_relaxed);
  g_calls[i].fetch_add(1, std::memory_order_relaxed);
}

}  // namespace profile_detail

const char* step_phase_name(StepPhase phase) {
  switch (phase) {
    case StepPhase::noise: return "noise";
    case StepPhase::generator_forward: return "G forward";
    case StepPhase::discriminator_forward: return "D forward";
    case StepPhase::losses: return "losses";
    case StepPhase::discriminator_backward: return "D backward (input gradient)";
    case StepPhase::discriminator_backward_update: return "D backward + update";
    case StepPhase::generator_backward_update: return "G backward + update";
    case StepPhase::count: break;
  }
  return "?";
}

void step_profile_enable(bool on) { profile_detail::g_enabled.store(on, std::memory_order_relaxed); }

void step_profile_reset() {
  for (int i = 0; i < kPhases; ++i) {
    g_nanoseconds[i].store(0, std::memory_order_relaxed);
    g_calls[i].store(0, std::memory_order_relaxed);
  }
}

std::vector<StepPhaseTotal> step_profile_totals() {
  std::vector<StepPhaseTotal> totals;
  for (int i = 0; i < kPhases; ++i)
    totals.push_back({step_phase_name(static_cast<StepPhase>(i)),
                      1e-9 * static_cast<double>(g_nanoseconds[i].load(std::memory_order_relaxed)),
                      g_calls[i].load(std::memory_order_relaxed)});
  return totals;
}

}  // namespace gankit
