// A worker's view of one upstream's endpoints: who failed lately, who is ejected, how many
// connections each has, where round robin stands. Kept per worker by upstream name and endpoint
// list (proxy/worker_state.hpp): one thread writes it, nothing is locked, and it outlives reloads.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace gatehouse::proxy {

struct EndpointState {
  int consecutive_failures = 0;
  std::chrono::steady_clock::time_point ejected_until{};
  int active = 0;  // open connections through this worker
};

struct PoolState {
  std::vector<EndpointState> endpoints;
  size_t next = 0;  // round-robin position
};

}  // namespace gatehouse::proxy
