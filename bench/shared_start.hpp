// Shards on several machines (or processes) start together: --start-at names a wall-clock
// time, --shard I/N says which part of the arrival schedule this process issues.
#pragma once

#include <chrono>
#include <string>

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

}  // namespace gatehouse::bench
