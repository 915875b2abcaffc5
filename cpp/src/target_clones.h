// GANKIT_CLONES on a function: GCC/Clang compile it once per listed ISA plus the
// baseline, and the dynamic loader picks the best for this CPU (an ifunc) — runtime
// dispatch for element-wise loops without hand-written intrinsics.
//
// Only for loops whose every element is computed by the same IEEE operations
// whatever the vector width (no reductions: -ffp-contract=off and no -ffast-math keep
// the compiler from reordering or fusing), so every clone gives the same bits.
// A function with an OpenMP region inside must not carry it (the outlined region would
// stay baseline): clone the loop body and call it from the region instead.
#pragma once

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__linux__)
#define GANKIT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GANKIT_CLONES
#endif
