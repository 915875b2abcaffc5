// What this CPU and its OS let the core run, read once from CPUID and XGETBV.
//
// An ISA counts only when the CPU has it and the OS saves its registers on a context
// switch (the XCR0 bits), so no kernel is ever chosen that would fault or lose state.
// Every kernel registry asks this one check: the GEMM micro-kernels
// (gemm/kernel_registry.cpp), the element-wise row kernels (activation/activation.cpp)
// and the FMA-peak probe (gemm/fma_peak.cpp). Off x86-64 every field is false.
#pragma once

namespace gankit {
namespace cpu_detail {

struct Features {
  bool avx2_fma = false;     // AVX2 and FMA; the OS saves ymm
  bool avx512f = false;      // AVX-512 Foundation; the OS saves zmm and the opmasks
  bool avx512bw = false;     // byte and word lanes (with avx512f)
  bool avx512vl = false;     // AVX-512 instructions on xmm and ymm (with avx512f)
  bool avx512dq = false;     // doubleword and quadword lanes (with avx512f)
  bool avx512_bf16 = false;  // bfloat16 convert and dot product (with avx512f)
  // AMX tiles with bfloat16 products, the OS enabling the tile configuration and data
  // state (XCR0 bits 17 and 18). Linux also wants each process to ask for the tile data
  // state (arch_prctl ARCH_REQ_XCOMP_PERM) before its first tile instruction.
  bool amx_bf16 = false;
};

// Detected on the first call (thread-safe; safe from static initialisers).
const Features& features();

// The checks the kernel descriptors point at (MicroKernel::cpu_supports).
bool has_avx2_fma();
bool has_avx512f();

}  // namespace cpu_detail
}  // namespace gankit
