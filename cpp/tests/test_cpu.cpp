// Tests of the CPU check (src/cpu/cpu_features.h): its CPUID and XGETBV reading agrees
// with the compiler's own runtime check, and both kernel registries follow it.
#include <algorithm>
#include <string>
#include <vector>

#include "../src/cpu/cpu_features.h"
#include "../src/cpu/isa.h"
#include "gankit/activation.h"
#include "gankit/gemm.h"
#include "test_harness.h"

using namespace gankit;

namespace {

bool gemm_offers(const std::string& name) {
  const std::vector<std::string> available = gemm_available_kernels();
  return std::find(available.begin(), available.end(), name) != available.end();
}

}  // namespace

// __builtin_cpu_supports tests the same CPUID bits and the same XCR0 state (libgcc,
// compiler-rt), so the two must give the same answer on any machine.
TEST_CASE(cpu_features_agree_with_the_compiler_runtime) {
  const cpu_detail::Features& f = cpu_detail::features();
#if GANKIT_X86
  __builtin_cpu_init();
  CHECK(f.avx2_fma == (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")));
  CHECK(f.avx512f == static_cast<bool>(__builtin_cpu_supports("avx512f")));
  CHECK(f.avx512bw == static_cast<bool>(__builtin_cpu_supports("avx512bw")));
  CHECK(f.avx512vl == static_cast<bool>(__builtin_cpu_supports("avx512vl")));
  CHECK(f.avx512dq == static_cast<bool>(__builtin_cpu_supports("avx512dq")));
#else
  CHECK(!f.avx2_fma && !f.avx512f && !f.avx512bw && !f.avx512vl && !f.avx512dq);
#endif
  // Every AVX-512 extension, and bfloat16, is reported only with the foundation.
  CHECK(f.avx512f || (!f.avx512bw && !f.avx512vl && !f.avx512dq && !f.avx512_bf16));
  CHECK(&cpu_detail::features() == &f);  // detected once
}

// The GEMM micro-kernels and the element-wise row kernels ask the one check.
TEST_CASE(kernel_registries_follow_the_cpu_check) {
  const cpu_detail::Features& f = cpu_detail::features();
  CHECK(gemm_offers("generic"));
  CHECK(gemm_offers("avx2") == (GANKIT_X86 && f.avx2_fma));
  CHECK(gemm_offers("avx512") == (GANKIT_X86 && f.avx512f));
  const std::string elementwise = activation_kernel_name();
  CHECK(elementwise == ((GANKIT_X86 && f.avx512f) ? "avx512"
                         : (GANKIT_X86 && f.avx2_fma) ? "avx2" : "generic"));
}
