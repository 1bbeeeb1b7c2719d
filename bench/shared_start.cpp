#include "bench/shared_start.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace gatehouse::bench {

Result<WallClock::time_point> parse_start_at(const std::string& text) {
  auto fail = [&] {
    return Result<WallClock::time_point>::failure("--start-at '" + text +
                                                  "' is neither unix seconds nor RFC 3339 (e.g. 2026-12-06T08:00:00Z)");
  };
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos) {
    double seconds = 0;
    try {
      std::size_t used = 0;
      seconds = std::stod(text, &used);
      if (used != text.size()) return fail();
    } catch (const std::exception&) {
      return fail();
    }
    return WallClock::time_point(
        std::chrono::duration_cast<WallClock::duration>(std::chrono::duration<double>(seconds)));
  }
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return fail();
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  double fraction = 0;
  if (!rest.empty() && rest[0] == '.') {
    auto end = rest.find_first_not_of("0123456789", 1);
    fraction = std::stod("0" + rest.substr(0, end));
    rest = end == std::string::npos ? "" : rest.substr(end);
  }
  long offset = 0;  // seconds east of UTC
  int oh = 0, om = 0;
  if (rest == "Z" || rest == "z")
    offset = 0;
  else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
           std::sscanf(rest.c_str() + 1, "%2d:%2d", &oh, &om) == 2)
    offset = (rest[0] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
  else
    return fail();
  const std::time_t utc = timegm(&tm) - offset;
  return WallClock::from_time_t(utc) +
         std::chrono::duration_cast<WallClock::duration>(std::chrono::duration<double>(fraction));
}

Result<Shard> parse_shard(const std::string& text) {
  Shard s;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%d/%d%n", &s.index, &s.count, &consumed) != 2 ||
      static_cast<std::size_t>(consumed) != text.size() || s.count < 1 || s.index < 0 || s.index >= s.count)
    return Result<Shard>::failure("--shard '" + text + "' is not I/N with 0 <= I < N (e.g. 0/4)");
  return s;
}

}  // namespace gatehouse::bench
