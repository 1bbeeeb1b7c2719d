// The open loop's clock: when the k-th arrival (handshake or request) is due, for a constant
// rate or a ramp of stages. Latency is measured from that due time, not from when a connection
// was free to start it, so that a stalled target's queue shows in the numbers (coordinated
// omission, as wrk2 corrects it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace gatehouse::bench {

// Over `seconds` the rate goes linearly from the previous stage's rate to `rate`.
struct Stage {
  double seconds = 0;
  double rate = 0;
};

// "30s:1000,60s:5000,30s:0"
Result<std::vector<Stage>> parse_stages(const std::string& text);

class ArrivalSchedule {
 public:
  ArrivalSchedule(double start_rate, std::vector<Stage> stages);
  // A constant rate for `seconds`.
  static ArrivalSchedule constant(double rate, double seconds) { return {rate, {{seconds, rate}}}; }

  // Seconds after the start at which arrival k (0-based) is due; nullopt once past the end.
  std::optional<double> due(std::uint64_t k) const;
  double seconds() const;
  // Arrivals due within [0, t): those k with due(k) < t.
  std::uint64_t due_before(double t) const;
  std::uint64_t total() const { return due_before(seconds()); }
  double start_rate() const { return start_rate_; }

 private:
  double start_rate_;
  std::vector<Stage> stages_;
};

// Which arrivals one load thread of one shard takes: k = offset, offset + stride, ... so that
// threads and shards together issue exactly the arrivals of the whole schedule.
struct ArrivalShare {
  std::uint64_t offset = 0;
  std::uint64_t stride = 1;
};

}  // namespace gatehouse::bench
