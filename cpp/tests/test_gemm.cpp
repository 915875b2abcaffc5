// Tests of the blocked GEMM: every micro-kernel this CPU runs against gemm_reference on
// awkward shapes and layouts, the epilogue, determinism across thread counts, the
// kernel registry, allocation-free reuse and concurrent callers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../src/gemm/blocking.h"
#include "../src/gemm/ukernel.h"
#include "gankit/aligned_buffer.h"
#include "gankit/gemm.h"
#include "gankit/threads.h"
#include "test_harness.h"

using namespace gankit;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kSentinel = 12345.0f;  // in C where the GEMM must not write

// Deterministic uniform floats in [-1, 1): tests must not depend on a seed's luck.
class TestRng {
 public:
  explicit TestRng(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  float uniform() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return static_cast<float>(state_ >> 40) / static_cast<float>(1ull << 23) - 1.0f;
  }

 private:
  std::uint64_t state_;
};

// How an operand lies in memory; the view always reads it as the same logical matrix.
enum class Layout { row_major, transposed, strided };

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::row_major: return "row-major";
    case Layout::transposed: return "transposed";
    case Layout::strided: return "strided";
  }
  return "?";
}

// A rows x cols matrix stored in `layout`, and the view that reads it.
struct Operand {
  std::vector<float> storage;
  MatrixView view;
};

Operand make_operand(std::int64_t rows, std::int64_t cols, Layout layout, TestRng& rng) {
  Operand op;
  switch (layout) {
    case Layout::row_major:
      op.storage.resize(rows * cols + 1);
      op.view = row_major(op.storage.data(), rows, cols);
      break;
    case Layout::transposed:  // the memory holds the cols x rows transpose, row-major
      op.storage.resize(rows * cols + 1);
      op.view = transposed(row_major(op.storage.data(), cols, rows));
      break;
    case Layout::strided: {  // neither stride is 1, and rows have gaps between them
      const std::int64_t row_stride = 2 * cols + 3;
      op.storage.resize(rows * row_stride + 1);
      op.view = MatrixView{op.storage.data(), rows, cols, row_stride, 2};
      break;
    }
  }
  for (float& x : op.storage) x = rng.uniform();
  return op;
}

// C with room to catch stray writes: 3 padding columns right of N and one guard row
// below M, all holding kSentinel. The M x N part holds `fill` or, if NaN, NaN.
struct OutputMatrix {
  std::int64_t rows, cols, ldc;
  std::vector<float> storage;
  float* data() { return storage.data(); }
};

OutputMatrix make_output(std::int64_t rows, std::int64_t cols, bool random_fill, TestRng& rng) {
  OutputMatrix c{rows, cols, cols + 3, {}};
  c.storage.assign((rows + 1) * c.ldc, kSentinel);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      c.storage[i * c.ldc + j] = random_fill ? rng.uniform() : kNaN;
  return c;
}

bool guards_intact(const OutputMatrix& c) {
  for (std::int64_t i = 0; i <= c.rows; ++i)
    for (std::int64_t j = (i < c.rows ? c.cols : 0); j < c.ldc; ++j)
      if (c.storage[i * c.ldc + j] != kSentinel) return false;
  return true;
}

// Float accumulation over K terms in [-1, 1], against a double reference.
double tolerance_for(std::int64_t k) { return 2e-6 * static_cast<double>(k + 10); }

struct Case {
  std::int64_t m, n, k;  // m counts A's ones row when there is one
  Layout layout_a, layout_b;
  bool accumulate;
  const GemmEpilogue* epilogue;
  bool ones_row = false;
  GemmPrecision precision = GemmPrecision::fp32;
};

std::string describe(const Case& tc) {
  std::ostringstream s;
  s << "kernel " << (tc.precision == GemmPrecision::bf16 ? gemm_bf16_kernel_name() : gemm_kernel_name()) << ", M=" << tc.m << " N=" << tc.n << " K=" << tc.k
    << ", A " << layout_name(tc.layout_a) << ", B " << layout_name(tc.layout_b)
    << (tc.accumulate ? ", accumulate" : ", overwrite") << (tc.ones_row ? ", ones row" : "");
  if (tc.epilogue != nullptr)
    s << ", epilogue "
      << (tc.epilogue->kind == GemmEpilogue::Kind::bias_activation ? "" : "times derivative of ")
      << activation_name(tc.epilogue->activation)
      << (tc.epilogue->bias != nullptr ? " + bias" : "");
  return s.str();
}

// gemm vs gemm_reference on one case; one failure line for the whole matrix.
void check_case(const Case& tc, std::uint64_t seed) {
  TestRng rng(seed);
  Operand a = make_operand(tc.ones_row ? tc.m - 1 : tc.m, tc.k, tc.layout_a, rng);
  if (tc.ones_row) a.view = with_ones_row(a.view);
  const Operand b = make_operand(tc.k, tc.n, tc.layout_b, rng);
  OutputMatrix c = make_output(tc.m, tc.n, tc.accumulate, rng);
  OutputMatrix expected = c;

  gemm(a.view, b.view, c.data(), c.ldc, tc.accumulate, tc.epilogue, tc.precision);
  gemm_reference(a.view, b.view, expected.data(), expected.ldc, tc.accumulate, tc.epilogue, tc.precision);

  double worst = 0.0;
  bool finite = true;
  for (std::int64_t i = 0; i < tc.m; ++i)
    for (std::int64_t j = 0; j < tc.n; ++j) {
      const double got = c.storage[i * c.ldc + j];
      finite = finite && std::isfinite(got);
      worst = std::max(worst, std::fabs(got - expected.storage[i * c.ldc + j]));
    }
  if (!finite || worst > tolerance_for(tc.k)) {
    std::ostringstream what;
    what << describe(tc) << ": max |error| " << worst << " (tolerance " << tolerance_for(tc.k)
         << ")" << (finite ? "" : ", non-finite output");
    gankit_test::record_failure(__FILE__, __LINE__, what.str());
  }
  if (!guards_intact(c))
    gankit_test::record_failure(__FILE__, __LINE__, describe(tc) + ": wrote outside C");
}

// Selects each kernel in turn and restores the one in use (and the thread count).
class KernelSweep {
 public:
  KernelSweep() : saved_kernel_(gemm_kernel_name()), saved_threads_(num_threads()) {}
  ~KernelSweep() {
    gemm_select_kernel(saved_kernel_);
    set_num_threads(saved_threads_);
  }
  std::vector<std::string> kernels() const { return gemm_available_kernels(); }

 private:
  std::string saved_kernel_;
  int saved_threads_;
};

const Layout kAllLayouts[] = {Layout::row_major, Layout::transposed, Layout::strided};

struct Shape {
  std::int64_t m, n, k;
};

// Shapes that cut every loop of the framework somewhere awkward for this kernel.
std::vector<Shape> awkward_shapes(const gemm_detail::MicroKernel& kernel) {
  const std::int64_t mr = kernel.mr, nr = kernel.nr;
  const gemm_detail::Blocking& blk = gemm_detail::blocking_for(kernel).blocking;
  return {
      {1, 1, 1},          {1, 1, 17},          {1, 31, 1},           {17, 1, 5},
      {2, 3, 0},          {0, 5, 3},           {5, 0, 3},            {31, 33, 97},
      {97, 31, 17},       {33, 17, 31},        {mr - 1, nr + 1, 13}, {mr + 1, nr - 1, 7},
      {mr, nr, 3},        {2 * mr + 1, 3 * nr - 1, blk.kc + 1},     // K just past KC
      {13, 29, 2 * blk.kc + 5},                                      // three K blocks
      {blk.mc + mr + 1, 19, 11},                                     // M past MC
      {3, blk.nc + nr + 3, 5},                                       // N past NC
  };
}

}  // namespace

TEST_CASE(gemm_matches_reference_on_awkward_shapes) {
  KernelSweep sweep;
  std::uint64_t seed = 1;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    for (const Shape& s : awkward_shapes(gemm_detail::active_micro_kernel()))
      for (Layout la : kAllLayouts)
        for (Layout lb : kAllLayouts)
          for (bool accumulate : {false, true})
            check_case(Case{s.m, s.n, s.k, la, lb, accumulate, nullptr}, seed++);
  }
}

// bf16: against the reference on bf16-rounded operands, so what remains is fp32
// accumulation and the fp32 tolerance applies; every awkward shape and layout, and
// odd depths, whose last 32-bit slot holds one step and a zero.
TEST_CASE(gemm_bf16_matches_reference_on_rounded_operands) {
  if (gemm_bf16_kernel_name().empty()) return;  // gemm_bf16_refused_where_unsupported
  std::uint64_t seed = 1;
  for (const Shape& s : awkward_shapes(*gemm_detail::bf16_micro_kernel()))
    for (Layout la : kAllLayouts)
      for (Layout lb : kAllLayouts)
        for (bool accumulate : {false, true}) {
          Case tc{s.m, s.n, s.k, la, lb, accumulate, nullptr};
          tc.precision = GemmPrecision::bf16;
          check_case(tc, seed++);
        }
}

// With K = 1 each element of C is one product of two bf16, which fp32 holds exactly:
// C must equal round_to_bf16(a) * round_to_bf16(b) to the bit, so the kernels' packing
// rounds exactly as round_to_bf16 does (ties to even included: operands are drawn on
// a grid finer than bf16's).
TEST_CASE(gemm_bf16_rounds_operands_as_round_to_bf16) {
  if (gemm_bf16_kernel_name().empty()) return;
  TestRng rng(5);
  const std::int64_t m = 29, n = 45;
  const Operand a = make_operand(m, 1, Layout::row_major, rng);
  const Operand b = make_operand(1, n, Layout::row_major, rng);
  std::vector<float> c(m * n);
  gemm(a.view, b.view, c.data(), n, false, nullptr, GemmPrecision::bf16);
  int wrong = 0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const float expected = round_to_bf16(a.view.at(i, 0)) * round_to_bf16(b.view.at(0, j));
      wrong += std::memcmp(&expected, &c[i * n + j], sizeof(float)) != 0;
    }
  CHECK(wrong == 0);
}

// The same logical matrix as `source`, held in the strided layout (neither stride 1).
Operand strided_copy(const Operand& source) {
  TestRng unused(0);
  Operand copy = make_operand(source.view.rows, source.view.cols, Layout::strided, unused);
  for (std::int64_t i = 0; i < source.view.rows; ++i)
    for (std::int64_t j = 0; j < source.view.cols; ++j)
      copy.storage[i * copy.view.row_stride + j * copy.view.col_stride] = source.view.at(i, j);
  return copy;
}

// The bf16 kernel packs row-major and transposed operands straight into its bf16 slots
// (MicroKernel::pack_pairs_direct), other strides as fp32 panels that it then rounds:
// both routes must give the same slots, so C comes out to the bit whichever layout the
// operands have. Odd depths (a half-empty last slot), K past kc (slots split across
// blocks), edge rows and columns, M past mc, and 2 threads (B's slots packed by both).
TEST_CASE(gemm_bf16_direct_packing_same_bits_as_rounded_panels) {
  if (gemm_bf16_kernel_name().empty()) return;
  KernelSweep sweep;  // restores the thread count
  const gemm_detail::MicroKernel& kernel = *gemm_detail::bf16_micro_kernel();
  const gemm_detail::Blocking& blk = gemm_detail::blocking_for(kernel).blocking;
  const Shape shapes[] = {{1, 40, 1},  {13, 33, 7},  {kernel.mr + 1, 2 * kernel.nr + 5, 2 * blk.kc + 3},
                          {blk.mc + 5, 70, 131}, {100, 1024, 200}};
  std::uint64_t seed = 1200;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const Shape& s : shapes)
      for (Layout la : {Layout::row_major, Layout::transposed})
        for (Layout lb : {Layout::row_major, Layout::transposed}) {
          TestRng rng(seed++);
          const Operand a = make_operand(s.m, s.k, la, rng);
          const Operand b = make_operand(s.k, s.n, lb, rng);
          const Operand a_strided = strided_copy(a), b_strided = strided_copy(b);
          std::vector<float> direct(s.m * s.n, kNaN), rounded(s.m * s.n, kNaN);
          gemm(a.view, b.view, direct.data(), s.n, false, nullptr, GemmPrecision::bf16);
          gemm(a_strided.view, b_strided.view, rounded.data(), s.n, false, nullptr, GemmPrecision::bf16);
          if (std::memcmp(direct.data(), rounded.data(), direct.size() * sizeof(float)) != 0)
            gankit_test::record_failure(__FILE__, __LINE__,
                                        "bf16 " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
                                            std::to_string(s.k) + ", A " + layout_name(la) + ", B " +
                                            layout_name(lb) + ", " + std::to_string(threads) +
                                            " thread(s): direct packing differs from rounded panels");
        }
  }
}

TEST_CASE(round_to_bf16_rounds_to_nearest_even) {
  const float eps = std::ldexp(1.0f, -7);  // bf16's spacing in [1, 2)
  CHECK(round_to_bf16(1.0f) == 1.0f);
  CHECK(round_to_bf16(1.0f + eps / 2) == 1.0f);                 // a tie: to the even 1
  CHECK(round_to_bf16(1.0f + 3 * eps / 2) == 1.0f + 2 * eps);   // a tie: to the even 1 + 2 eps
  CHECK(round_to_bf16(1.0f + eps / 2 + std::ldexp(1.0f, -20)) == 1.0f + eps);  // past the tie
  CHECK(round_to_bf16(-1.0f - eps / 4) == -1.0f);
  CHECK(round_to_bf16(std::numeric_limits<float>::max()) == std::numeric_limits<float>::infinity());
  CHECK(round_to_bf16(-std::numeric_limits<float>::infinity()) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(round_to_bf16(kNaN)));
  const float tiny = std::numeric_limits<float>::denorm_min() * 1000;  // subnormal
  CHECK(round_to_bf16(tiny) == 0.0f && !std::signbit(round_to_bf16(tiny)));
  CHECK(round_to_bf16(-tiny) == 0.0f && std::signbit(round_to_bf16(-tiny)));
}

TEST_CASE(gemm_bf16_refused_where_unsupported) {
  if (!gemm_bf16_kernel_name().empty()) return;
  std::vector<float> a(64 * 64, 1.0f), c(64 * 64);
  CHECK_THROWS(gemm(row_major(a.data(), 64, 64), row_major(a.data(), 64, 64), c.data(), 64, false,
                    nullptr, GemmPrecision::bf16),
               std::invalid_argument);
}

TEST_CASE(gemm_crosses_all_blocks_at_once) {
  KernelSweep sweep;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    const gemm_detail::MicroKernel& kernel = gemm_detail::active_micro_kernel();
    const std::int64_t m = gemm_detail::blocking_for(kernel).blocking.mc + 2 * kernel.mr + 3;
    const std::int64_t n = 5 * kernel.nr + 7;
    const std::int64_t k = gemm_detail::blocking_for(kernel).blocking.kc + 9;
    for (Layout la : {Layout::row_major, Layout::transposed})
      for (Layout lb : {Layout::row_major, Layout::transposed})
        check_case(Case{m, n, k, la, lb, false, nullptr}, 7);
  }
}

TEST_CASE(gemm_epilogue_bias_and_every_activation) {
  KernelSweep sweep;
  const Activation activations[] = {Activation::identity, Activation::relu,
                                    Activation::leaky_relu, Activation::tanh,
                                    Activation::sigmoid};
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    const std::int64_t k_past_kc = gemm_detail::blocking_for(gemm_detail::active_micro_kernel()).blocking.kc + 3;
    for (Activation act : activations)
      for (bool with_bias : {false, true})
        for (std::int64_t k : {std::int64_t{0}, std::int64_t{1}, std::int64_t{31}, k_past_kc})
          for (bool accumulate : {false, true}) {
            const std::int64_t m = 37, n = 45;
            TestRng rng(static_cast<std::uint64_t>(k) + 100);
            std::vector<float> bias(n);
            for (float& x : bias) x = rng.uniform();
            GemmEpilogue epilogue;
            epilogue.bias = with_bias ? bias.data() : nullptr;
            epilogue.activation = act;
            epilogue.slope = 0.1f;
            check_case(Case{m, n, k, Layout::row_major, Layout::transposed, accumulate, &epilogue},
                       static_cast<std::uint64_t>(k) + 3);
          }
  }
}

// A's ones row (a dense layer's bias gradient computed with its weight gradient): the
// last row of C is the column sums of B, on every path (skinny n <= 4, blocked, A
// packed or read in place), in blocks of any size.
TEST_CASE(gemm_ones_row_appends_column_sums) {
  KernelSweep sweep;
  std::uint64_t seed = 300;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    const gemm_detail::MicroKernel& kernel = gemm_detail::active_micro_kernel();
    const std::int64_t ms[] = {1, 2, kernel.mr, kernel.mr + 1, 29, gemm_detail::blocking_for(kernel).blocking.mc + 1};
    const std::int64_t ns[] = {1, 3, 4, 5, kernel.nr + 1};
    const std::int64_t ks[] = {1, 7, gemm_detail::blocking_for(kernel).blocking.kc + 1};
    for (std::int64_t m : ms)
      for (std::int64_t n : ns)
        for (std::int64_t k : ks)
          for (Layout la : kAllLayouts)
            for (bool accumulate : {false, true})
              check_case(Case{m, n, k, la, Layout::row_major, accumulate, nullptr, true}, seed++);
  }
}

// The backward epilogue, C *= act'(y), for every activation, on tiles at the edges and
// past KC, with A packed, in place and skinny.
TEST_CASE(gemm_epilogue_times_activation_derivative) {
  KernelSweep sweep;
  const Activation activations[] = {Activation::identity, Activation::relu,
                                    Activation::leaky_relu, Activation::tanh,
                                    Activation::sigmoid};
  const Shape shapes[] = {{37, 45, 31}, {6, 16, 5}, {13, 2, 40}, {70, 1, 9}, {5, 33, 600}};
  std::uint64_t seed = 500;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    for (Activation act : activations)
      for (const Shape& s : shapes)
        for (Layout la : {Layout::row_major, Layout::transposed})
          for (bool accumulate : {false, true}) {
            TestRng rng(seed);
            std::vector<float> y(s.m * (s.n + 2));  // ldy > n: rows have gaps
            for (float& v : y) v = rng.uniform();
            if (act == Activation::relu || act == Activation::leaky_relu)
              for (std::size_t i = 0; i < y.size(); i += 3) y[i] = 0.0f;  // the kink itself
            const GemmEpilogue epilogue = activation_derivative_epilogue(y.data(), s.n + 2, act, 0.1f);
            check_case(Case{s.m, s.n, s.k, la, Layout::row_major, accumulate, &epilogue}, seed++);
          }
  }
}

// Products at most four wide take the skinny path (dot along k for row-major A, axpy
// along rows for transposed A): many row chunks, k tails of every length mod 8.
TEST_CASE(gemm_skinny_products_match_reference) {
  KernelSweep sweep;
  std::uint64_t seed = 700;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    for (std::int64_t n : {1, 2, 3, 4})
      for (std::int64_t m : {1, 7, 63, 64, 65, 257})
        for (std::int64_t k : {1, 8, 9, 15, 301})
          for (Layout la : kAllLayouts)
            for (Layout lb : {Layout::row_major, Layout::transposed})
              check_case(Case{m, n, k, la, lb, (m + k) % 2 == 1, nullptr}, seed++);
  }
}

// Row-major A whose rows are 4 KiB apart is packed rather than read in place (its rows
// would share cache sets): the same values with rows a float further apart, read in
// place, give C to the bit, and both match the reference, edges and K blocks included.
TEST_CASE(gemm_a_rows_4kib_apart_packed_same_bits_as_in_place) {
  KernelSweep sweep;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    const std::int64_t m = 29, n = 37, k = 1000;
    TestRng rng(900);
    std::vector<float> aliased(m * 1024), spread(m * 1025);
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t p = 0; p < k; ++p) aliased[i * 1024 + p] = spread[i * 1025 + p] = rng.uniform();
    const Operand b = make_operand(k, n, Layout::row_major, rng);
    const MatrixView a_views[2] = {MatrixView{aliased.data(), m, k, 1024, 1},
                                   MatrixView{spread.data(), m, k, 1025, 1}};
    std::vector<float> c[2], expected(m * n);
    for (int v = 0; v < 2; ++v) {
      c[v].assign(m * n, kNaN);
      gemm(a_views[v], b.view, c[v].data(), n, false);
    }
    gemm_reference(a_views[1], b.view, expected.data(), n, false);
    CHECK(c[0] == c[1]);
    double worst = 0.0;
    for (std::int64_t i = 0; i < m * n; ++i) worst = std::max(worst, std::fabs(double(c[0][i]) - expected[i]));
    CHECK(worst <= tolerance_for(k));
  }
}

// Row-major A is read in place for products up to 16 micro-panels wide and packed
// beyond: the columns a narrow product shares with a wide one come out to the bit, with
// K past one block and tiles at every edge.
TEST_CASE(gemm_a_in_place_and_packed_same_bits) {
  KernelSweep sweep;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    const gemm_detail::MicroKernel& kernel = gemm_detail::active_micro_kernel();
    const std::int64_t m = 2 * kernel.mr + 5;
    const std::int64_t k = gemm_detail::blocking_for(kernel).blocking.kc + 37;
    const std::int64_t narrow = 16 * kernel.nr - 3, wide = 16 * kernel.nr + 5;
    TestRng rng(950);
    const Operand a = make_operand(m, k, Layout::row_major, rng);
    const Operand b = make_operand(k, wide, Layout::row_major, rng);
    const MatrixView b_narrow{b.view.data, k, narrow, b.view.row_stride, b.view.col_stride};
    std::vector<float> c_narrow(m * narrow, kNaN), c_wide(m * wide, kNaN), expected(m * wide);
    gemm(a.view, b_narrow, c_narrow.data(), narrow, false);
    gemm(a.view, b.view, c_wide.data(), wide, false);
    gemm_reference(a.view, b.view, expected.data(), wide, false);
    bool same = true;
    double worst = 0.0;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < wide; ++j) {
        if (j < narrow) same = same && c_narrow[i * narrow + j] == c_wide[i * wide + j];
        worst = std::max(worst, std::fabs(double(c_wide[i * wide + j]) - expected[i * wide + j]));
      }
    CHECK(same);
    CHECK(worst <= tolerance_for(k));
  }
}

// A bias of n uniform values and a leaky ReLU (slope 0.1): an epilogue the avx512
// kernels fuse into their store.
class LeakyBiasEpilogue {
 public:
  LeakyBiasEpilogue(std::int64_t n, TestRng& rng) : bias_(n) {
    for (float& x : bias_) x = rng.uniform();
    epilogue_.bias = bias_.data();
    epilogue_.activation = Activation::leaky_relu;
    epilogue_.slope = 0.1f;
  }
  LeakyBiasEpilogue(const LeakyBiasEpilogue&) = delete;  // epilogue_ points into bias_
  LeakyBiasEpilogue& operator=(const LeakyBiasEpilogue&) = delete;
  const GemmEpilogue* or_null(bool wanted) const { return wanted ? &epilogue_ : nullptr; }

 private:
  std::vector<float> bias_;
  GemmEpilogue epilogue_;
};

// Row-major B is read in place for products of at most 8 row tiles and packed beyond
// (kernels with run_rowmajor_b): the rows a short product shares with a tall one come
// out to the bit, with A packed and in place, K past one block, tiles at every edge,
// every epilogue the kernels fuse.
TEST_CASE(gemm_b_in_place_and_packed_same_bits) {
  KernelSweep sweep;
  std::uint64_t seed = 970;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    const gemm_detail::MicroKernel& kernel = gemm_detail::active_micro_kernel();
    const std::int64_t k = gemm_detail::blocking_for(kernel).blocking.kc + 37;
    const std::int64_t mr = kernel.mr, nr = kernel.nr;
    const std::int64_t tall = 9 * mr + 5;
    for (std::int64_t short_rows : {std::int64_t{1}, mr - 1, 8 * mr})
      for (std::int64_t n : {nr + 3, 16 * nr + 5})  // A in place, then packed
        for (bool with_epilogue : {false, true}) {
          TestRng rng(seed++);
          const Operand a = make_operand(tall, k, Layout::row_major, rng);
          const Operand b = make_operand(k, n, Layout::row_major, rng);
          const LeakyBiasEpilogue epilogue(n, rng);
          const GemmEpilogue* e = epilogue.or_null(with_epilogue);
          const MatrixView a_short{a.view.data, short_rows, k, a.view.row_stride, a.view.col_stride};
          std::vector<float> c_short(short_rows * n, kNaN), c_tall(tall * n, kNaN), expected(tall * n);
          gemm(a_short, b.view, c_short.data(), n, false, e);
          gemm(a.view, b.view, c_tall.data(), n, false, e);
          gemm_reference(a.view, b.view, expected.data(), n, false, e);
          bool same = true;
          double worst = 0.0;
          for (std::int64_t i = 0; i < tall; ++i)
            for (std::int64_t j = 0; j < n; ++j) {
              if (i < short_rows) same = same && c_short[i * n + j] == c_tall[i * n + j];
              worst = std::max(worst, std::fabs(double(c_tall[i * n + j]) - expected[i * n + j]));
            }
          CHECK(same);
          CHECK(worst <= tolerance_for(k));
        }
  }
}

// A kernel with a shorter sibling (MicroKernel::shorter) runs it on products its rows
// pad less: 64 rows take the 8-row avx512 tile, 72 the 12-row one. Row i of C must not
// depend on which: the first rows of the 72-row product equal the short products to
// the bit, for A in place and packed (transposed), B in place and packed, B rows 4 KiB
// apart (where the short product keeps the tall tile), K past one block, the fused
// epilogue, and within the tolerance of the reference.
TEST_CASE(gemm_shorter_tile_same_bits_as_taller) {
  KernelSweep sweep;
  std::uint64_t seed = 990;
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    const gemm_detail::MicroKernel& kernel = gemm_detail::active_micro_kernel();
    if (kernel.shorter == nullptr) continue;
    const std::int64_t smr = kernel.shorter->mr;
    const std::int64_t tall = 6 * kernel.mr;  // a whole number of tall tiles: the tall tile runs
    const std::int64_t k = gemm_detail::blocking_for(kernel).blocking.kc + 37;
    for (Layout la : {Layout::row_major, Layout::transposed})
      for (Layout lb : {Layout::row_major, Layout::transposed})
        for (std::int64_t n : {std::int64_t{kernel.nr} + 3, std::int64_t{1024}})
          for (bool with_epilogue : {false, true}) {
            TestRng rng(seed++);
            const Operand a = make_operand(tall, k, la, rng);
            const Operand b = make_operand(k, n, lb, rng);
            const LeakyBiasEpilogue epilogue(n, rng);
            const GemmEpilogue* e = epilogue.or_null(with_epilogue);
            std::vector<float> c_tall(tall * n, kNaN), expected(tall * n);
            gemm(a.view, b.view, c_tall.data(), n, false, e);
            gemm_reference(a.view, b.view, expected.data(), n, false, e);
            double worst = 0.0;
            for (std::int64_t i = 0; i < tall * n; ++i)
              worst = std::max(worst, std::fabs(double(c_tall[i]) - expected[i]));
            CHECK(worst <= tolerance_for(k));
            for (std::int64_t rows : {std::int64_t{1}, smr - 1, smr + 1, 8 * smr}) {
              MatrixView a_short = a.view;
              a_short.rows = rows;
              std::vector<float> c_short(rows * n, kNaN);
              gemm(a_short, b.view, c_short.data(), n, false, e);
              bool same = true;
              for (std::int64_t i = 0; i < rows * n; ++i) same = same && c_short[i] == c_tall[i];
              if (!same)
                gankit_test::record_failure(__FILE__, __LINE__,
                                            "kernel " + name + ": " + std::to_string(rows) + " x " +
                                                std::to_string(n) + " rows differ from the " +
                                                std::to_string(tall) + "-row product's, A " +
                                                layout_name(la) + ", B " + layout_name(lb));
            }
          }
  }
}

// A kernel that fuses the epilogue applies it in registers before its one store; the
// others (and every kernel for tanh/sigmoid) run apply_epilogue_tile over the finished
// block. Both must give the same bits, so C does not depend on which kernel or path
// took a layer: every fp32 kernel and the bf16 one, both epilogue kinds and every
// activation, edge tiles, K past kc (the epilogue after the last block), M past mc.
TEST_CASE(gemm_fused_epilogue_same_bits_as_separate_pass) {
  KernelSweep sweep;
  const Activation activations[] = {Activation::identity, Activation::relu, Activation::leaky_relu,
                                    Activation::tanh, Activation::sigmoid};
  std::vector<std::pair<std::string, GemmPrecision>> kernels;
  for (const std::string& name : sweep.kernels()) kernels.emplace_back(name, GemmPrecision::fp32);
  if (!gemm_bf16_kernel_name().empty()) kernels.emplace_back(gemm_bf16_kernel_name(), GemmPrecision::bf16);
  std::uint64_t seed = 1300;
  for (const auto& [name, precision] : kernels) {
    if (precision == GemmPrecision::fp32) gemm_select_kernel(name);
    const gemm_detail::MicroKernel& kernel = precision == GemmPrecision::fp32
                                                 ? gemm_detail::active_micro_kernel()
                                                 : *gemm_detail::bf16_micro_kernel();
    const gemm_detail::Blocking& blk = gemm_detail::blocking_for(kernel).blocking;
    const Shape shapes[] = {{kernel.mr + 1, kernel.nr + 3, 17}, {blk.mc + 5, 2 * kernel.nr + 5, blk.kc + 9}};
    for (const Shape& s : shapes)
      for (Activation act : activations)
        for (bool derivative : {false, true})
          for (bool accumulate : {false, true}) {
            TestRng rng(seed++);
            const Operand a = make_operand(s.m, s.k, Layout::row_major, rng);
            const Operand b = make_operand(s.k, s.n, Layout::row_major, rng);
            std::vector<float> bias(s.n), y(s.m * s.n);
            for (float& v : bias) v = rng.uniform();
            for (float& v : y) v = rng.uniform();
            for (std::size_t i = 0; i < y.size(); i += 5) y[i] = 0.0f;  // the kinks themselves
            GemmEpilogue epilogue;
            if (derivative) {
              epilogue = activation_derivative_epilogue(y.data(), s.n, act, 0.1f);
            } else {
              epilogue.bias = bias.data();
              epilogue.activation = act;
              epilogue.slope = 0.1f;
            }
            std::vector<float> fused(s.m * s.n), separate(s.m * s.n);
            for (std::size_t i = 0; i < fused.size(); ++i) fused[i] = separate[i] = rng.uniform();
            gemm(a.view, b.view, fused.data(), s.n, accumulate, &epilogue, precision);
            gemm(a.view, b.view, separate.data(), s.n, accumulate, nullptr, precision);
            apply_epilogue_tile(epilogue, separate.data(), s.n, 0, 0, s.m, s.n);
            if (std::memcmp(fused.data(), separate.data(), fused.size() * sizeof(float)) != 0)
              gankit_test::record_failure(__FILE__, __LINE__,
                                          "kernel " + name + ", " + std::to_string(s.m) + "x" +
                                              std::to_string(s.n) + "x" + std::to_string(s.k) + ", " +
                                              (derivative ? "times derivative of " : "bias + ") +
                                              activation_name(act) + (accumulate ? ", accumulate" : "") +
                                              ": the epilogue in the product differs from a separate pass");
          }
  }
}

TEST_CASE(gemm_empty_product_zeroes_or_keeps_c) {
  TestRng rng(5);
  const Operand a = make_operand(4, 0, Layout::row_major, rng);
  const Operand b = make_operand(0, 6, Layout::row_major, rng);
  OutputMatrix overwrite = make_output(4, 6, false, rng);  // NaN: must not be read
  gemm(a.view, b.view, overwrite.data(), overwrite.ldc, false);
  OutputMatrix kept = make_output(4, 6, true, rng);
  const OutputMatrix before = kept;
  gemm(a.view, b.view, kept.data(), kept.ldc, true);
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t j = 0; j < 6; ++j) {
      CHECK(overwrite.storage[i * overwrite.ldc + j] == 0.0f);
      CHECK(kept.storage[i * kept.ldc + j] == before.storage[i * kept.ldc + j]);
    }
  CHECK(guards_intact(overwrite));
  CHECK(guards_intact(kept));
}

TEST_CASE(gemm_rejects_mismatched_shapes) {
  std::vector<float> x(64, 1.0f), c(64);
  CHECK_THROWS(gemm(row_major(x.data(), 2, 3), row_major(x.data(), 4, 2), c.data(), 2, false),
               std::invalid_argument);
  CHECK_THROWS(gemm(row_major(x.data(), 2, 3), row_major(x.data(), 3, 4), c.data(), 3, false),
               std::invalid_argument);
}

// Results must not depend on the thread count, to the bit: sizes large enough that
// threads_for() gives every thread work, cutting several MC, KC (and NC) blocks.
TEST_CASE(gemm_bitwise_identical_for_any_thread_count) {
  KernelSweep sweep;
  struct Problem {
    std::int64_t m, n, k;
    Layout layout_b;
    bool accumulate;
    bool epilogue;
  };
  for (const std::string& name : sweep.kernels()) {
    gemm_select_kernel(name);
    const gemm_detail::Blocking blk = gemm_detail::blocking_for(gemm_detail::active_micro_kernel()).blocking;
    const Problem problems[] = {
        {blk.mc + 57, 301, 2 * blk.kc + 19, Layout::row_major, false, true},
        {203, 257, blk.kc + 1, Layout::transposed, true, false},
        {9, blk.nc + 41, 97, Layout::row_major, false, true},
        {1031, 1, 513, Layout::row_major, false, true},   // skinny: many row chunks
        {5, 700, 64, Layout::transposed, false, false},   // few row tiles: split by columns
        {64, 784, blk.kc + 7, Layout::row_major, true, true},  // B in place: split by columns
    };
    for (const Problem& pr : problems) {
      TestRng rng(static_cast<std::uint64_t>(pr.m * pr.n));
      const Operand a = make_operand(pr.m, pr.k, Layout::row_major, rng);
      const Operand b = make_operand(pr.k, pr.n, pr.layout_b, rng);
      std::vector<float> bias(pr.n);
      for (float& x : bias) x = rng.uniform();
      GemmEpilogue epilogue;
      epilogue.bias = bias.data();
      epilogue.activation = Activation::tanh;
      const OutputMatrix initial = make_output(pr.m, pr.n, pr.accumulate, rng);
      std::vector<std::vector<float>> results;
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        OutputMatrix c = initial;
        gemm(a.view, b.view, c.data(), c.ldc, pr.accumulate, pr.epilogue ? &epilogue : nullptr);
        results.push_back(c.storage);
      }
      // The bf16 kernel with each fp32 kernel's problems: it packs B together under a
      // split by rows, with one more barrier.
      std::vector<std::vector<float>> bf16_results;
      for (int threads : {1, 2, 3}) {
        if (gemm_bf16_kernel_name().empty()) break;
        set_num_threads(threads);
        OutputMatrix c = initial;
        gemm(a.view, b.view, c.data(), c.ldc, pr.accumulate, pr.epilogue ? &epilogue : nullptr,
             GemmPrecision::bf16);
        bf16_results.push_back(c.storage);
      }
      for (std::size_t t = 1; t < bf16_results.size(); ++t)
        if (std::memcmp(bf16_results[0].data(), bf16_results[t].data(),
                        bf16_results[0].size() * sizeof(float)) != 0)
          gankit_test::record_failure(__FILE__, __LINE__,
                                      "bf16, M=" + std::to_string(pr.m) + " N=" + std::to_string(pr.n) +
                                          ": " + std::to_string(t + 1) + " threads differ from 1");
      for (std::size_t t = 1; t < results.size(); ++t) {
        const bool same = std::memcmp(results[0].data(), results[t].data(),
                                      results[0].size() * sizeof(float)) == 0;
        if (!same) {
          std::ostringstream what;
          what << "kernel " << name << ", M=" << pr.m << " N=" << pr.n << " K=" << pr.k
               << ": " << (t + 1) << " threads differ from 1 thread";
          gankit_test::record_failure(__FILE__, __LINE__, what.str());
        }
      }
    }
  }
}

TEST_CASE(gemm_kernel_registry) {
  KernelSweep sweep;
  const std::vector<std::string> available = gemm_available_kernels();
  bool has_generic = false, has_current = false;
  for (const std::string& name : available) {
    has_generic = has_generic || name == "generic";
    has_current = has_current || name == gemm_kernel_name();
  }
  CHECK(has_generic);
  CHECK(has_current);
  for (const std::string& name : available) {
    gemm_select_kernel(name);
    CHECK(gemm_kernel_name() == name);
  }
  CHECK_THROWS(gemm_select_kernel("no_such_kernel"), std::invalid_argument);
  try {
    gemm_select_kernel("no_such_kernel");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    CHECK(message.find("no_such_kernel") != std::string::npos);
    CHECK(message.find("generic") != std::string::npos);
  }
}

// Packing workspaces are grow-only: once sized, the same or a smaller product
// allocates nothing.
TEST_CASE(gemm_reuses_its_workspace) {
  TestRng rng(11);
  const Operand a = make_operand(150, 300, Layout::row_major, rng);
  const Operand b = make_operand(300, 170, Layout::row_major, rng);
  std::vector<float> c(150 * 170);
  gemm(a.view, b.view, c.data(), 170, false);
  const std::int64_t before = allocation_count();
  gemm(a.view, b.view, c.data(), 170, false);
  const MatrixView a_small{a.view.data, 40, 100, a.view.row_stride, 1};
  const MatrixView b_small{b.view.data, 100, 50, b.view.row_stride, 1};
  gemm(a_small, b_small, c.data(), 170, true);
  CHECK(allocation_count() == before);
}

// Two caller threads (two Python threads on two networks) multiply at once; each
// owns its packing buffers, so both get exactly their serial results.
TEST_CASE(gemm_concurrent_callers_do_not_interfere) {
  struct Job {
    Operand a, b;
    std::vector<float> serial, concurrent;
  };
  TestRng rng(21);
  Job jobs[2] = {{make_operand(211, 307, Layout::row_major, rng),
                  make_operand(307, 199, Layout::row_major, rng), {}, {}},
                 {make_operand(97, 613, Layout::transposed, rng),
                  make_operand(613, 331, Layout::transposed, rng), {}, {}}};
  for (Job& job : jobs) {
    job.serial.assign(job.a.view.rows * job.b.view.cols, 0.0f);
    gemm(job.a.view, job.b.view, job.serial.data(), job.b.view.cols, false);
  }
  auto run = [](Job* job) {
    job->concurrent.assign(job->serial.size(), kNaN);
    for (int repeat = 0; repeat < 10; ++repeat)
      gemm(job->a.view, job->b.view, job->concurrent.data(), job->b.view.cols, false);
  };
  std::thread first(run, &jobs[0]);
  std::thread second(run, &jobs[1]);
  first.join();
  second.join();
  for (const Job& job : jobs)
    CHECK(std::memcmp(job.serial.data(), job.concurrent.data(),
                      job.serial.size() * sizeof(float)) == 0);
}

// A barrier costs something, a finite amount, and well under the 10 ms a stalled team
// (a thread that never arrives until the OS reschedules it) would show.
TEST_CASE(barrier_cost_is_a_plausible_time) {
  if (!has_openmp() || serial_after_fork()) return;
  const double us = measure_barrier_us(2, 500);
  CHECK(us > 0.0);
  CHECK(us < 10000.0);
  bool refused = false;
  try {
    measure_barrier_us(1, 500);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  CHECK(refused);
}

TEST_CASE(fma_peak_is_positive) {
  const double peak = measure_fma_peak_gflops(0.01);
  CHECK(peak > 0.0);
  CHECK(std::isfinite(peak));
}
