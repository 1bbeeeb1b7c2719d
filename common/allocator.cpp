#include "common/allocator.hpp"

#include <cstdlib>

#ifdef GATEHOUSE_MIMALLOC
#include <mimalloc.h>
#endif

namespace gatehouse {

bool malloc_is_mimalloc() {
#ifdef GATEHOUSE_MIMALLOC
  void* probe = std::calloc(1, 64);  // calloc: g++ warns of a pointer to uninitialized memory passed as const
  const bool ours = mi_is_in_heap_region(probe);
  std::free(probe);
  return ours;
#else
  return false;
#endif
}

std::string allocator_description() {
#ifdef GATEHOUSE_MIMALLOC
  if (malloc_is_mimalloc()) {
    const int v = mi_version();  // 209 for 2.0.9
    return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
  }
#endif
  return "system (glibc)";
}

}  // namespace gatehouse
