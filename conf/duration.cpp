#include "conf/duration.hpp"

#include <charconv>

namespace gatehouse::conf {

std::optional<Duration> parse_duration(std::string_view text) {
  std::int64_t value = 0;
  auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || rest == text.data() || value < 0) return std::nullopt;
  std::string_view unit(rest, static_cast<size_t>(text.data() + text.size() - rest));
  constexpr std::int64_t kMaxMs = std::int64_t{1} << 50;  // keeps arithmetic far from overflow
  std::int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return std::nullopt;
  if (value > kMaxMs / scale) return std::nullopt;
  return Duration(value * scale);
}

std::string format_duration(Duration d) {
  auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace gatehouse::conf
