// The CPU check (see cpu_features.h): CPUID leaves 1 and 7 for what the CPU has,
// XGETBV for what the OS saves. Bit positions from the Intel SDM, volume 2A, "CPUID" (also AMD's).
#include "cpu_features.h"

#include <cstdint>

#include "isa.h"

#if GANKIT_X86
#include <cpuid.h>
#endif

namespace gankit {
namespace cpu_detail {

namespace {

#if GANKIT_X86

bool bit(std::uint32_t word, int n) { return ((word >> n) & 1u) != 0; }

struct CpuidRegisters {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegisters cpuid(std::uint32_t leaf, std::uint32_t subleaf) {
  CpuidRegisters r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

// XCR0: the register state the OS saves and restores. XGETBV is spelled in assembly
// so this file needs no XSAVE target attribute.
std::uint64_t xcr0() {
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

constexpr std::uint64_t kXcr0Ymm = 0x6;         // SSE and AVX state (bits 1, 2)
constexpr std::uint64_t kXcr0Zmm = 0xe6;        // plus opmask, ZMM_Hi256, Hi16_ZMM (5-7)
constexpr std::uint64_t kXcr0Tiles = 0x60000;   // XTILECFG and XTILEDATA (bits 17, 18)

Features detect() {
  Features f;
  const std::uint32_t max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 1) return f;
  const CpuidRegisters leaf1 = cpuid(1, 0);
  // Without OSXSAVE the OS manages no extended state: nothing past SSE runs.
  if (!bit(leaf1.ecx, 27)) return f;
  const std::uint64_t os_state = xcr0();
  const bool os_ymm = (os_state & kXcr0Ymm) == kXcr0Ymm;
  const bool os_zmm = (os_state & kXcr0Zmm) == kXcr0Zmm;
  const bool os_tiles = (os_state & kXcr0Tiles) == kXcr0Tiles;
  const bool avx = bit(leaf1.ecx, 28), fma = bit(leaf1.ecx, 12);
  if (max_leaf < 7) return f;
  const CpuidRegisters leaf7 = cpuid(7, 0);
  const CpuidRegisters leaf7_1 = leaf7.eax >= 1 ? cpuid(7, 1) : CpuidRegisters{};

  f.avx2_fma = os_ymm && avx && fma && bit(leaf7.ebx, 5);
  f.avx512f = os_zmm && bit(leaf7.ebx, 16);
  f.avx512dq = f.avx512f && bit(leaf7.ebx, 17);
  f.avx512bw = f.avx512f && bit(leaf7.ebx, 30);
  f.avx512vl = f.avx512f && bit(leaf7.ebx, 31);
  f.avx512_bf16 = f.avx512f && bit(leaf7_1.eax, 5);
  f.amx_bf16 = os_tiles && bit(leaf7.edx, 24) && bit(leaf7.edx, 22);  // AMX-TILE, -BF16
  return f;
}

#else

Features detect() { return Features{}; }

#endif

}  // namespace

const Features& features() {
  static const Features detected = detect();
  return detected;
}

bool has_avx2_fma() { return features().avx2_fma; }
bool has_avx512f() { return features().avx512f; }

}  // namespace cpu_detail
}  // namespace gankit
