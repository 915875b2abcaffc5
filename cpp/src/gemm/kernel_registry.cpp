// The micro-kernel registry: which kernels this CPU runs (each descriptor asks the CPU
// check of cpu/cpu_features.h), which one gemm() uses, and the GANKIT_GEMM_KERNEL
// override read once at start-up.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "gankit/gemm.h"
#include "ukernel.h"

namespace gankit {
namespace gemm_detail {

namespace {

// Preference order, best first: avx512 leads because it issues half the instructions
// and loads per flop of avx2, which pays even on cores that split a 512-bit FMA in two
// (`gankit bench gemm --kernel all` compares them on this machine).
std::vector<const MicroKernel*> kernels_by_preference() {
  return {&avx512_micro_kernel(), &avx2_micro_kernel(), &generic_micro_kernel()};
}

bool runs_here(const MicroKernel& kernel) {
  return kernel.run != nullptr && kernel.cpu_supports();
}

std::vector<const MicroKernel*> supported_kernels() {
  std::vector<const MicroKernel*> supported;
  for (const MicroKernel* kernel : kernels_by_preference())
    if (runs_here(*kernel)) supported.push_back(kernel);
  return supported;  // never empty: generic runs everywhere
}

const MicroKernel* find_supported(const std::string& name) {
  for (const MicroKernel* kernel : supported_kernels())
    if (name == kernel->name) return kernel;
  return nullptr;
}

std::string joined_names() {
  std::string names;
  for (const MicroKernel* kernel : supported_kernels()) {
    if (!names.empty()) names += ", ";
    names += kernel->name;
  }
  return names;
}

// The best kernel, unless GANKIT_GEMM_KERNEL names another this CPU runs. A bad value
// only warns: an environment variable must never stop the library from loading.
const MicroKernel* kernel_at_startup() {
  const MicroKernel* best = supported_kernels().front();
  const char* requested = std::getenv("GANKIT_GEMM_KERNEL");
  if (requested == nullptr || *requested == '\0') return best;
  if (const MicroKernel* chosen = find_supported(requested)) return chosen;
  std::fprintf(stderr,
               "gankit: GANKIT_GEMM_KERNEL=%s names no kernel this CPU runs (available: %s); "
               "using %s\n",
               requested, joined_names().c_str(), best->name);
  return best;
}

std::atomic<const MicroKernel*>& active_slot() {
  static std::atomic<const MicroKernel*> slot{kernel_at_startup()};
  return slot;
}

// Choose at load time rather than on the first gemm, so the override's warning (if
// any) appears when the module is imported.
const bool g_chosen_at_startup = (active_slot(), true);

}  // namespace

const MicroKernel& active_micro_kernel() {
  return *active_slot().load(std::memory_order_acquire);
}

// bf16 is a precision the caller asks for, not a faster fp32, so it has a registry of
// its own: the one kernel there is, where the CPU runs it.
const MicroKernel* bf16_micro_kernel() {
  static const MicroKernel* const kernel = runs_here(avx512_bf16_micro_kernel()) ? &avx512_bf16_micro_kernel() : nullptr;
  return kernel;
}

}  // namespace gemm_detail

std::string gemm_kernel_name() { return gemm_detail::active_micro_kernel().name; }

std::vector<std::string> gemm_available_kernels() {
  std::vector<std::string> names;
  for (const gemm_detail::MicroKernel* kernel : gemm_detail::supported_kernels())
    names.emplace_back(kernel->name);
  return names;
}

std::string gemm_bf16_kernel_name() {
  const gemm_detail::MicroKernel* kernel = gemm_detail::bf16_micro_kernel();
  return kernel != nullptr ? kernel->name : "";
}

void require_bf16_kernel(const std::string& who) {
  if (gemm_detail::bf16_micro_kernel() != nullptr) return;
  throw std::invalid_argument(who + ": this CPU has no bf16 kernel (it needs AVX512-BF16 and "
                              "AVX-512BW, which every CPU with AMX-BF16 also has); use fp32");
}

void gemm_select_kernel(const std::string& name) {
  const gemm_detail::MicroKernel* chosen = gemm_detail::find_supported(name);
  if (chosen == nullptr)
    throw std::invalid_argument("gemm_select_kernel: kernel '" + name +
                                "' names no kernel this CPU runs; available: " +
                                gemm_detail::joined_names());
  gemm_detail::active_slot().store(chosen, std::memory_order_release);
}

}  // namespace gankit
