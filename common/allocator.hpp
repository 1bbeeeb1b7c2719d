// Which malloc this process runs on, as `gatehouse --version` reports it: checked at run time,
// so that a build whose link order let glibc's malloc win does not claim mimalloc.
#pragma once

#include <string>

namespace gatehouse {

// "mimalloc 2.0.9" when the C allocator returns mimalloc's memory, else "system (glibc)".
std::string allocator_description();
// True when the build links mimalloc and malloc really is mimalloc's.
bool malloc_is_mimalloc();

}  // namespace gatehouse
