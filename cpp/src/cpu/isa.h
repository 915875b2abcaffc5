// The instruction sets the core's kernels are compiled for, each spelled once.
//
// No -march flag: the library is baseline x86-64 (or the baseline of another
// architecture) and runs everywhere. A kernel for a wider ISA carries that ISA's target
// attribute on its own functions, and a registry picks it at start-up only when the
// CPU check (cpu_features.h) says this CPU and its OS run it. Include this header, not
// the attributes themselves, so every kernel of one ISA is built for the same target.
#pragma once

// 1 on x86-64 with GCC or Clang, whose target attributes the ISA kernels use; 0
// elsewhere (aarch64, MSVC), where only the portable kernels are built.
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define GANKIT_X86 1
#else
#define GANKIT_X86 0
#endif

#if GANKIT_X86
// 256-bit kernels (GEMM, skinny loops, activation rows): AVX2 with FMA, which every CPU
// with AVX2 has; run where features().avx2_fma.
#define GANKIT_TARGET_AVX2 __attribute__((target("avx2,fma")))
// 512-bit kernels: AVX-512 Foundation; run where features().avx512f.
#define GANKIT_TARGET_AVX512 __attribute__((target("avx512f")))
// bfloat16 products (vdpbf16ps, vcvtne2ps2bf16) with the word shuffles of AVX-512BW;
// run where features().avx512_bf16 and features().avx512bw.
#define GANKIT_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
#endif

// GANKIT_CLONES on a function: GCC compiles it once each for AVX-512F, AVX2 and the
// baseline, and the dynamic loader picks the widest this CPU runs (an ifunc, resolved by
// the compiler's runtime from the same CPUID and XCR0 bits as cpu_features.h): runtime
// dispatch for element-wise loops (tanh and sigmoid rows, Adam, SGD, the parameter
// average, the normal noise) without hand-written intrinsics. AVX2 alone, not AVX2 with
// FMA: -ffp-contract=off leaves these loops nothing to fuse, and one clone is one feature.
//
// Only for loops whose every element is computed by the same IEEE operations
// whatever the vector width (no reductions: -ffp-contract=off and no -ffast-math keep
// the compiler from reordering or fusing), so every clone gives the same bits.
// A function with an OpenMP region inside must not carry it (the outlined region would
// stay baseline): clone the loop body and call it from the region instead.
#if GANKIT_X86 && !defined(__clang__) && defined(__linux__)
#define GANKIT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GANKIT_CLONES
#endif
