// Runs the tests registered by TEST_CASE: one line per failed check, then exactly
// "N passed, N failed" (counting test cases). Exit status 1 when any test failed.
//   gankit_core_tests [substring]   runs only the tests whose name contains it
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "test_harness.h"

namespace gankit_test {

namespace {

struct TestCase {
  std::string name;
  TestFn fn;
};

// A function-local static: registrars in other files run during static
// initialisation, in an order the language leaves open.
std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

const TestCase* g_running = nullptr;
// Checks may fail on worker threads (tests of concurrent calls): count atomically and
// print one whole line at a time.
std::atomic<int> g_running_failures{0};
std::mutex g_print_mutex;

// TEST_CASE("a name") stringises to "\"a name\""; show it without the quotes.
std::string display_name(const char* raw) {
  std::string name = raw;
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
    name = name.substr(1, name.size() - 2);
  return name;
}

}  // namespace

Registrar::Registrar(const char* name, TestFn fn) {
  registry().push_back(TestCase{display_name(name), fn});
}

void record_failure(const char* file, int line, const std::string& what) {
  ++g_running_failures;
  const std::lock_guard<std::mutex> lock(g_print_mutex);
  std::printf("%s:%d: FAILED in %s: %s\n", file, line,
              g_running != nullptr ? g_running->name.c_str() : "?", what.c_str());
  std::fflush(stdout);
}

}  // namespace gankit_test

int main(int argc, char** argv) {
  using namespace gankit_test;
  const std::string filter = argc > 1 ? argv[1] : "";
  int passed = 0, failed = 0;
  for (const TestCase& test : registry()) {
    if (!filter.empty() && test.name.find(filter) == std::string::npos) continue;
    g_running = &test;
    g_running_failures.store(0);
    try {
      test.fn();
    } catch (const std::exception& e) {
      record_failure(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    } catch (...) {
      record_failure(__FILE__, __LINE__, "unexpected non-standard exception");
    }
    if (g_running_failures.load() == 0) ++passed; else ++failed;
  }
  g_running = nullptr;
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
