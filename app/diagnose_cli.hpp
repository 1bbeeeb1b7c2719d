// `gatehouse inspect` and `gatehouse verify`: certificate problems explained in plain words.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace gatehouse::app {

void add_diagnose_commands(CLI::App& app, std::function<int()>& action);

// "2030-01-01T00:00:00Z" or Unix seconds; nullopt when neither.
std::optional<std::int64_t> parse_time(const std::string& text);

}  // namespace gatehouse::app
