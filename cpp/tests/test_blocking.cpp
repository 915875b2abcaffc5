// The cache reader and the blocking model (src/cpu/cache_info.h, src/gemm/blocking.h):
// the model on caches whose blocking is known by hand, its constraints and maximality on
// many caches, the sysfs reader on a tree written here, the override's parser, and the
// balanced depth.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/cpu/cache_info.h"
#include "../src/gemm/blocking.h"
#include "test_harness.h"

using namespace gankit;
using gankit::cpu_detail::CacheHierarchy;
using gankit::cpu_detail::CacheLevel;
using gankit::gemm_detail::Blocking;

namespace {

CacheLevel level(std::int64_t size, int ways, int shared_by = 1) {
  CacheLevel c;
  c.size_bytes = size;
  c.ways = ways;
  c.line_bytes = 64;
  c.shared_by = shared_by;
  return c;
}

CacheHierarchy hierarchy(CacheLevel l1, CacheLevel l2, CacheLevel l3) {
  CacheHierarchy h;
  h.l1d = l1;
  h.l2 = l2;
  h.l3 = l3;
  h.source = "test";
  return h;
}

std::int64_t ways_of(std::int64_t bytes, const CacheLevel& c) {
  return (bytes + c.way_bytes() - 1) / c.way_bytes();
}

const Blocking kFallback{144, 256, 2048};

}  // namespace

// Worked by hand: a Zen 3 core (32 KiB 8-way L1, 512 KiB 8-way L2, a 32 MiB 16-way L3
// that two logical CPUs share) with the 6 x 16 AVX2 tile. L1 ways hold 4 KiB: kc = 320
// puts B_r (20 KiB) in 5 ways and A_r (7.5 KiB) in 2, 7 of 8; kc = 324 needs 6 + 2.
// L2 ways hold 64 KiB: B_r takes 1, A_c at most 6 = 384 KiB, mc = 306 rows (382.5 KiB).
// The L3 share is 16 MiB in 1 MiB ways: A_c takes 1, B_c at most 14: nc = 11 468 -> 11 456.
TEST_CASE(blocking_model_on_zen3_by_hand) {
  const CacheHierarchy zen3 = hierarchy(level(32 << 10, 8), level(512 << 10, 8), level(32 << 20, 16, 2));
  const Blocking b = gemm_detail::model_blocking(zen3, 6, 16, kFallback);
  CHECK(b.kc == 320);
  CHECK(b.mc == 306);
  CHECK(b.nc == 11456);
}

// Sapphire Rapids' 48 KiB 12-way L1 and 2 MiB 16-way L2 with a 12 x 32 tile: kc = 256
// (B_r 32 KiB in 8 ways, A_r 12 KiB in 3, 11 of 12).
TEST_CASE(blocking_model_on_sapphire_rapids_by_hand) {
  const CacheHierarchy spr = hierarchy(level(48 << 10, 12), level(2 << 20, 16), level(105 << 20, 15, 2));
  const Blocking b = gemm_detail::model_blocking(spr, 12, 32, kFallback);
  CHECK(b.kc == 256);
  CHECK(b.mc % 12 == 0);
  CHECK(b.nc % 32 == 0);
}

// Every result meets the model's constraints, and one step more would break one.
TEST_CASE(blocking_model_meets_its_constraints_and_is_maximal) {
  const int tiles[][2] = {{6, 16}, {4, 8}, {12, 32}, {8, 48}, {14, 32}};
  const std::int64_t l1_sizes[] = {32 << 10, 48 << 10, 64 << 10};
  const int l1_ways[] = {8, 12, 16};
  const std::int64_t l2_sizes[] = {256 << 10, 512 << 10, 1 << 20, 2 << 20};
  for (const auto& tile : tiles)
    for (std::int64_t l1_size : l1_sizes)
      for (int w1 : l1_ways)
        for (std::int64_t l2_size : l2_sizes) {
          const int mr = tile[0], nr = tile[1];
          const CacheHierarchy h = hierarchy(level(l1_size, w1), level(l2_size, 16), level(32 << 20, 16, 4));
          const Blocking b = gemm_detail::model_blocking(h, mr, nr, kFallback);
          if (b.kc == kFallback.kc && b.mc == kFallback.mc) continue;  // model declined
          const std::int64_t S = 4;
          auto l1_fits = [&](std::int64_t kc) {
            return ways_of(kc * nr * S, h.l1d) + ways_of(kc * mr * S, h.l1d) <= h.l1d.ways - 1;
          };
          auto l2_fits = [&](std::int64_t mc) {
            return ways_of(mc * b.kc * S, h.l2) + ways_of(b.kc * nr * S, h.l2) <= h.l2.ways - 1;
          };
          CHECK(b.kc % 4 == 0);
          CHECK(l1_fits(b.kc));
          CHECK(!l1_fits(b.kc + 4));
          CHECK(b.mc % mr == 0);
          CHECK(l2_fits(b.mc));
          CHECK(!l2_fits(b.mc + mr));
          CHECK(b.nc % nr == 0);
        }
}

// Unknown levels keep the fallback's values for what they decide.
TEST_CASE(blocking_model_keeps_the_constants_where_caches_are_unknown) {
  const CacheHierarchy none = hierarchy(CacheLevel{}, CacheLevel{}, CacheLevel{});
  const Blocking b = gemm_detail::model_blocking(none, 6, 16, kFallback);
  CHECK(b.kc == kFallback.kc && b.mc == kFallback.mc && b.nc == kFallback.nc);
  const CacheHierarchy l1_only = hierarchy(level(32 << 10, 8), CacheLevel{}, CacheLevel{});
  const Blocking c = gemm_detail::model_blocking(l1_only, 6, 16, kFallback);
  CHECK(c.kc == 320);
  CHECK(c.mc == kFallback.mc && c.nc == kFallback.nc);
  // An L1 too small to hold a 64-deep panel pair: the model declines.
  const CacheHierarchy tiny = hierarchy(level(4 << 10, 2), level(512 << 10, 8), level(32 << 20, 16));
  const Blocking d = gemm_detail::model_blocking(tiny, 6, 16, kFallback);
  CHECK(d.kc == kFallback.kc);
}

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text << "\n";
}

void write_index(const std::string& dir, int index, const char* level, const char* type,
                 const char* size, const char* ways, const char* shared) {
  const std::string d = dir + "/index" + std::to_string(index);
  mkdir(d.c_str(), 0755);
  write_file(d + "/level", level);
  write_file(d + "/type", type);
  write_file(d + "/size", size);
  write_file(d + "/ways_of_associativity", ways);
  write_file(d + "/coherency_line_size", "64");
  write_file(d + "/shared_cpu_list", shared);
}

}  // namespace

TEST_CASE(sysfs_caches_read_from_a_tree) {
  char pattern[] = "/tmp/gankit_caches_XXXXXX";
  const char* made = mkdtemp(pattern);
  CHECK(made != nullptr);
  if (made == nullptr) return;
  const std::string dir = made;
  write_index(dir, 0, "1", "Data", "48K", "12", "0,56");
  write_index(dir, 1, "1", "Instruction", "32K", "8", "0,56");
  write_index(dir, 2, "2", "Unified", "2048K", "16", "0,56");
  write_index(dir, 3, "3", "Unified", "107520K", "15", "0-55,56-111");
  const CacheHierarchy h = cpu_detail::read_sysfs_caches(dir);
  CHECK(h.source == "sysfs");
  CHECK(h.l1d.size_bytes == 48 << 10 && h.l1d.ways == 12 && h.l1d.line_bytes == 64);
  CHECK(h.l1d.shared_by == 2);
  CHECK(h.l2.size_bytes == 2 << 20 && h.l2.ways == 16);
  CHECK(h.l3.size_bytes == std::int64_t{107520} << 10 && h.l3.ways == 15 && h.l3.shared_by == 112);
  // Without an L1 data cache the tree says nothing usable.
  const CacheHierarchy missing = cpu_detail::read_sysfs_caches(dir + "/no-such-dir");
  CHECK(missing.source == "unknown");
  CHECK(!missing.l1d.known() && !missing.l2.known() && !missing.l3.known());
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE(this_machines_caches_are_plausible) {
  const CacheHierarchy& h = cpu_detail::cache_hierarchy();
  if (!h.l1d.known()) return;  // a machine that reports none (the constants then apply)
  CHECK(h.source == "sysfs" || h.source == "cpuid");
  CHECK(h.l1d.size_bytes >= 4096 && h.l1d.size_bytes <= (1 << 22));
  CHECK(h.l1d.line_bytes >= 16 && h.l1d.line_bytes <= 1024);
  if (h.l2.known()) CHECK(h.l2.size_bytes > h.l1d.size_bytes);
}

TEST_CASE(blocking_override_parses_and_refuses) {
  Blocking b = kFallback;
  std::string error;
  CHECK(gemm_detail::parse_blocking_override("kc=192", 6, 16, b, error));
  CHECK(b.kc == 192 && b.mc == 144 && b.nc == 2048);
  CHECK(gemm_detail::parse_blocking_override("mc=100,nc=1000,kc=64", 6, 16, b, error));
  CHECK(b.kc == 64 && b.mc == 102 && b.nc == 1008);  // rounded up to mr and nr
  const char* bad[] = {"", "kc", "kc=", "kc=abc", "kc=0", "kc=-5", "kc=1234567", "xc=5",
                       "kc=64,", "kc=64;mc=6", " kc=64"};
  for (const char* text : bad) {
    Blocking untouched = kFallback;
    error.clear();
    CHECK(!gemm_detail::parse_blocking_override(text, 6, 16, untouched, error));
    CHECK(!error.empty());
    CHECK(untouched.kc == kFallback.kc && untouched.mc == kFallback.mc);
  }
}

TEST_CASE(balanced_depth_splits_evenly) {
  CHECK(gemm_detail::balanced_depth(100, 320) == 100);
  CHECK(gemm_detail::balanced_depth(320, 320) == 320);
  CHECK(gemm_detail::balanced_depth(784, 320) == 264);
  CHECK(gemm_detail::balanced_depth(1024, 320) == 256);
  CHECK(gemm_detail::balanced_depth(512, 320) == 256);
  CHECK(gemm_detail::balanced_depth(321, 320) == 164);
  for (std::int64_t kc : {64, 96, 256, 320, 510})
    for (std::int64_t k = 1; k < 3000; k += 7) {
      const std::int64_t depth = gemm_detail::balanced_depth(k, kc);
      const std::int64_t blocks = (k + kc - 1) / kc;
      CHECK(depth >= 1 && depth <= kc);
      CHECK((k + depth - 1) / depth == blocks);  // never more blocks than needed
    }
}
