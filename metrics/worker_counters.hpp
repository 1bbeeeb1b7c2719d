// Per-worker counters: each is written by its worker thread only (a relaxed load and store,
// no locked instruction, no shared cache line) and read by anyone at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "tls/reason.hpp"

namespace gatehouse::metrics {

#define GATEHOUSE_WORKER_COUNTERS(X) \
  X(connections_total)               \
  X(connections_active)              \
  X(handshakes_ok)                   \
  X(upstream_connect_ok)             \
  X(upstream_connect_failed)         \
  X(bytes_client_to_upstream)        \
  X(bytes_upstream_to_client)        \
  X(accept_errors)

class Counter {
 public:
  void add(std::uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  std::uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

struct WorkerCounters {
#define GATEHOUSE_DECLARE(name) Counter name;
  GATEHOUSE_WORKER_COUNTERS(GATEHOUSE_DECLARE)
#undef GATEHOUSE_DECLARE
  // Refused connections by reason keyword (index = tls::Reason).
  std::array<Counter, tls::kReasonCount> refused;
};

// Authorization decisions of one route (or of "no route matched", kept after the last route),
// by outcome: admitted, or refused per reason. Sized once per listener; indexed, never looked up.
struct RouteCounters {
  Counter allowed;
  std::array<Counter, tls::kReasonCount> refused;
};

// A plain copy, summed over workers, for tests and the admin endpoint.
struct CounterTotals {
#define GATEHOUSE_DECLARE(name) std::uint64_t name = 0;
  GATEHOUSE_WORKER_COUNTERS(GATEHOUSE_DECLARE)
#undef GATEHOUSE_DECLARE
  std::array<std::uint64_t, tls::kReasonCount> refused{};

  void add(const WorkerCounters& w) {
#define GATEHOUSE_SUM(name) name += w.name.get();
    GATEHOUSE_WORKER_COUNTERS(GATEHOUSE_SUM)
#undef GATEHOUSE_SUM
    for (std::size_t i = 0; i < refused.size(); ++i) refused[i] += w.refused[i].get();
  }
  std::uint64_t refused_for(tls::Reason r) const { return refused[static_cast<std::size_t>(r)]; }
};

}  // namespace gatehouse::metrics
