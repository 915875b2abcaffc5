// A self-registering test harness with no dependencies.
//
//   TEST_CASE(gemm_small_shapes) { CHECK(x == 1); CHECK_NEAR(y, 2.0, 1e-6); }
//
// TEST_CASE takes an identifier or a string literal. A failed check records file:line
// and the test goes on, so one run reports every broken check; test_main.cpp runs the
// registered tests (argv[1], if given, keeps those whose name contains it).
#pragma once
#include <cmath>
#include <sstream>
#include <string>

namespace gankit_test {

using TestFn = void (*)();

// Adds a test to the run; called by the static objects TEST_CASE defines.
struct Registrar {
  Registrar(const char* name, TestFn fn);
};

// Records one failed check against the test now running.
void record_failure(const char* file, int line, const std::string& what);

template <typename A, typename B, typename T>
void check_near(const A& a, const B& b, const T& tol, const char* a_text, const char* b_text,
                const char* file, int line) {
  const double da = static_cast<double>(a), db = static_cast<double>(b);
  const double dtol = static_cast<double>(tol);
  if (std::fabs(da - db) <= dtol) return;  // false for NaN: a NaN never passes
  std::ostringstream what;
  what.precision(9);
  what << "CHECK_NEAR(" << a_text << ", " << b_text << "): " << da << " vs " << db
       << ", |difference| " << std::fabs(da - db) << " > " << dtol;
  record_failure(file, line, what.str());
}

}  // namespace gankit_test

#define GANKIT_TEST_CONCAT_INNER(a, b) a##b
#define GANKIT_TEST_CONCAT(a, b) GANKIT_TEST_CONCAT_INNER(a, b)
#define GANKIT_TEST_FN GANKIT_TEST_CONCAT(gankit_test_fn_, __LINE__)
#define GANKIT_TEST_REG GANKIT_TEST_CONCAT(gankit_test_registrar_, __LINE__)

#define TEST_CASE(name)                                                          \
  static void GANKIT_TEST_FN();                                                  \
  static const ::gankit_test::Registrar GANKIT_TEST_REG(#name, GANKIT_TEST_FN);  \
  static void GANKIT_TEST_FN()

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) ::gankit_test::record_failure(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_NEAR(a, b, tol) \
  ::gankit_test::check_near((a), (b), (tol), #a, #b, __FILE__, __LINE__)

// Passes when `expr` throws an exception of `type` (or one derived from it).
#define CHECK_THROWS(expr, type)                                                       \
  do {                                                                                 \
    bool gankit_test_threw = false;                                                    \
    try {                                                                              \
      (void)(expr);                                                                    \
    } catch (const type&) {                                                            \
      gankit_test_threw = true;                                                        \
    } catch (...) {                                                                    \
    }                                                                                  \
    if (!gankit_test_threw)                                                            \
      ::gankit_test::record_failure(__FILE__, __LINE__, "CHECK_THROWS(" #expr ", " #type ")"); \
  } while (0)
