// The `main` of each of our programs: runs the real one and turns an exception that escaped it
// (none should) into a message and exit status 1 instead of std::terminate.
#pragma once

#include <cstdio>
#include <exception>

namespace gatehouse {

template <typename Run>
int guarded_main(const char* program, int argc, char** argv, Run run) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: unexpected error\n", program);
  }
  return 1;
}

}  // namespace gatehouse
