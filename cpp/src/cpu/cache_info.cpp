// Reading the cache hierarchy (see cache_info.h).
#include "cache_info.h"

#include <cctype>
#include <cstdint>
#include <fstream>
#include <string>

#include "isa.h"

#if GANKIT_X86
#include <cpuid.h>
#endif

namespace gankit {
namespace cpu_detail {

namespace {

bool read_line(const std::string& path, std::string& line) {
  std::ifstream file(path);
  return static_cast<bool>(std::getline(file, line));
}

// "48K", "2048K", "32M", "1024" (bytes) -> bytes; 0 when it is none of these.
std::int64_t parse_size(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return 0;
  const std::int64_t number = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit.empty()) return number;
  if (unit == "K") return number << 10;
  if (unit == "M") return number << 20;
  if (unit == "G") return number << 30;
  return 0;
}

int parse_int(const std::string& text) {
  const std::int64_t value = parse_size(text);
  return value > 0 && value < (1 << 30) && text.find_first_not_of("0123456789") == std::string::npos
             ? static_cast<int>(value)
             : 0;
}

// "0-1", "0,4", "0-3,8-11" -> how many CPUs; 0 when unreadable.
int count_cpu_list(const std::string& list) {
  int count = 0;
  std::size_t pos = 0;
  while (pos < list.size()) {
    const std::size_t comma = list.find(',', pos);
    const std::string range = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const std::size_t dash = range.find('-');
    const int first = parse_int(range.substr(0, dash));
    const int last = dash == std::string::npos ? first : parse_int(range.substr(dash + 1));
    if (range.empty() || last < first) return 0;
    count += last - first + 1;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return count;
}

CacheLevel* level_slot(CacheHierarchy& caches, int level) {
  switch (level) {
    case 1: return &caches.l1d;
    case 2: return &caches.l2;
    case 3: return &caches.l3;
    default: return nullptr;
  }
}

#if GANKIT_X86
// CPUID's deterministic cache parameters (Intel SDM vol. 2A, leaf 04H; AMD APM vol. 3,
// Fn8000_001D, the same layout): subleaf i describes one cache until type 0.
CacheHierarchy read_cpuid_caches() {
  CacheHierarchy caches;
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(0, eax, ebx, ecx, edx);
  const bool amd = ebx == 0x68747541u;  // "Auth" of "AuthenticAMD"
  const std::uint32_t max_basic = eax;
  __cpuid(0x80000000u, eax, ebx, ecx, edx);
  const std::uint32_t max_extended = eax;
  const std::uint32_t leaf = amd ? 0x8000001Du : 4u;
  if ((amd && max_extended < leaf) || (!amd && max_basic < leaf)) return caches;
  for (std::uint32_t subleaf = 0; subleaf < 16; ++subleaf) {
    __cpuid_count(leaf, subleaf, eax, ebx, ecx, edx);
    const unsigned type = eax & 0x1f;  // 1 data, 2 instruction, 3 unified
    if (type == 0) break;
    if (type == 2) continue;
    CacheLevel* slot = level_slot(caches, static_cast<int>((eax >> 5) & 0x7));
    if (slot == nullptr) continue;
    const int line = static_cast<int>((ebx & 0xfff) + 1);
    const int partitions = static_cast<int>(((ebx >> 12) & 0x3ff) + 1);
    const int ways = static_cast<int>(((ebx >> 22) & 0x3ff) + 1);
    const std::int64_t sets = static_cast<std::int64_t>(ecx) + 1;
    slot->line_bytes = line;
    slot->ways = ways;
    slot->size_bytes = static_cast<std::int64_t>(ways) * partitions * line * sets;
    slot->shared_by = static_cast<int>(((eax >> 14) & 0xfff) + 1);
  }
  if (caches.l1d.known()) caches.source = "cpuid";
  return caches;
}
#endif

CacheHierarchy detect() {
  CacheHierarchy caches = read_sysfs_caches("/sys/devices/system/cpu/cpu0/cache");
  if (caches.l1d.known()) return caches;
#if GANKIT_X86
  caches = read_cpuid_caches();
  if (caches.l1d.known()) return caches;
#endif
  CacheHierarchy unknown;
  unknown.source = "unknown";
  return unknown;
}

}  // namespace

CacheHierarchy read_sysfs_caches(const std::string& cache_dir) {
  CacheHierarchy caches;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = cache_dir + "/index" + std::to_string(index) + "/";
    std::string level, type, size, ways, line, shared;
    if (!read_line(dir + "level", level) || !read_line(dir + "type", type)) continue;
    if (type != "Data" && type != "Unified") continue;
    CacheLevel* slot = level_slot(caches, parse_int(level));
    if (slot == nullptr) continue;
    CacheLevel found;
    if (read_line(dir + "size", size)) found.size_bytes = parse_size(size);
    if (read_line(dir + "ways_of_associativity", ways)) found.ways = parse_int(ways);
    if (read_line(dir + "coherency_line_size", line)) found.line_bytes = parse_int(line);
    if (read_line(dir + "shared_cpu_list", shared)) found.shared_by = count_cpu_list(shared);
    *slot = found;
  }
  if (!caches.l1d.known()) {
    CacheHierarchy unknown;
    unknown.source = "unknown";
    return unknown;
  }
  caches.source = "sysfs";
  return caches;
}

const CacheHierarchy& cache_hierarchy() {
  static const CacheHierarchy detected = detect();
  return detected;
}

}  // namespace cpu_detail
}  // namespace gankit
