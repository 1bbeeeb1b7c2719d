// Durations in config files are strings such as "250ms", "10s", "5m", "12h".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "conf/settings.hpp"

namespace gatehouse::conf {

std::optional<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);

}  // namespace gatehouse::conf
