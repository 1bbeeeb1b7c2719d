// Shards on several machines (or processes) start together: --start-at names a wall-clock
// time, --shard I/N says which part of the arrival schedule this process issues.
#pragma once

#include <chrono>
#include <string>

#include "bench/arrival_schedule.hpp"
#include "common/result.hpp"

namespace gatehouse::bench {

using WallClock = std::chrono::system_clock;

// Unix seconds ("1765000000", "1765000000.5") or RFC 3339 ("2026-12-06T08:00:00Z", "...+01:00").
Result<WallClock::time_point> parse_start_at(const std::string& text);

struct Shard {
  int index = 0;  // 0-based
  int count = 1;
};
// "I/N" with 0 <= I < N.
Result<Shard> parse_shard(const std::string& text);

// The arrivals thread `thread` of `threads` issues: shard I takes every k with k % N == I, and its
// threads share those in turn, so shards may run different thread counts.
inline ArrivalShare share_of(const Shard& shard, int thread, int threads) {
  const auto n = static_cast<std::uint64_t>(shard.count);
  return {static_cast<std::uint64_t>(shard.index) + n * static_cast<std::uint64_t>(thread),
          n * static_cast<std::uint64_t>(threads)};
}

}  // namespace gatehouse::bench
