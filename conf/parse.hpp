// TOML → Settings. The only file that includes toml++. Every problem is collected with
// file:line:column and its key path; unknown keys are errors, never silently ignored.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "conf/diagnostics.hpp"
#include "conf/settings.hpp"

namespace gatehouse::conf {

struct ParseResult {
  std::optional<Settings> settings;  // set only when diagnostics is empty
  Diagnostics diagnostics;
};

ParseResult parse_file(const std::filesystem::path& file);

// `display_name` names the text in errors; relative paths resolve against `base_dir`.
ParseResult parse_text(std::string_view text, const std::string& display_name, const std::filesystem::path& base_dir);

}  // namespace gatehouse::conf
