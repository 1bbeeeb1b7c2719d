// What a gatehouse-bench run measured, in a form shards combine exactly: latency as histogram
// bucket counts (never percentiles), errors by kind, and a per-second time series keyed by
// wall-clock second so that shards started together line up. `gatehouse-bench merge` reads
// these files back, adds them, and computes percentiles only at the end.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/latency_histogram.hpp"
#include "common/result.hpp"

namespace gatehouse::bench {

// One second of a run. Sparse buckets: a long run keeps thousands of these.
struct SecondSlot {
  std::uint64_t operations = 0, errors = 0;
  std::map<std::uint32_t, std::uint64_t> latency;  // histogram bucket -> count
  void merge(const SecondSlot& o);
  LatencyHistogram histogram() const;
  bool operator==(const SecondSlot&) const = default;
};
using TimeSeries = std::map<std::int64_t, SecondSlot>;  // by unix second

struct Results {
  std::string target, mode;
  int shards = 1;
  int threads = 0, connections = 0;  // per shard
  double seconds = 0;                // the measured window (the longest, once merged)
  double asked_rate = 0;             // open loop: arrivals per second asked for; 0 in closed loop
  std::uint64_t operations = 0, resumed = 0, bytes_sent = 0, bytes_received = 0, held = 0;
  std::uint64_t not_started = 0;                // open loop: arrivals due that the generator never started
  std::uint64_t identities = 0;                 // distinct client certificates presented in turn (shards add)
  std::map<std::string, std::uint64_t> errors;  // by kind: TLS alert name, connect error, timeout
  LatencyHistogram latency;                     // µs
  TimeSeries series;
  double client_cpu_seconds = 0;  // the generator's own CPU time in the window
  double load_cores = 0;          // the threads it ran (shards add), what that CPU is a share of
  std::vector<std::string> warnings;

  void merge(const Results& o);
  std::uint64_t error_count() const;
  double per_second() const;  // successful operations per second, all shards together
  double client_cpu_share() const;
};

// Where the generator, rather than the target, may have set the numbers.
std::vector<std::string> bottleneck_warnings(const Results& r);

nlohmann::ordered_json to_json(const Results& r);
Result<Results> results_from_json(const nlohmann::json& j);
Result<Results> read_results_file(const std::string& path);

// The human-readable summary (stdout).
void print_text(const Results& r);

}  // namespace gatehouse::bench
