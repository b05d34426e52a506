#include "common/memory_budget.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace pillarbox {

MemoryBudget& MemoryBudget::Global() {
  static MemoryBudget budget;
  return budget;
}

namespace {

// The cgroup v2 (or v1) memory limit of this process, 0 when none is set.
std::size_t CgroupLimit() {
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max") continue;
    try {
      unsigned long long v = std::stoull(text);
      // cgroup v1 reports "no limit" as a huge page-rounded number.
      if (v > 0 && v < (1ull << 60)) return static_cast<std::size_t>(v);
    } catch (...) {
    }
  }
  return 0;
}

}  // namespace

std::size_t AutomaticMemoryBudget() {
  constexpr std::size_t kMinimum = 64u << 20;
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  std::size_t physical = pages > 0 && page_size > 0
                             ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size)
                             : std::size_t{1} << 30;
  std::size_t cgroup = CgroupLimit();
  std::size_t usable = cgroup ? std::min(physical, cgroup) : physical;
  return std::max(kMinimum, usable / 2);
}

}  // namespace pillarbox
