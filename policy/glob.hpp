// Name patterns for DNS names and URIs, compiled once per config load: `*` stands for exactly one
// DNS label or URI path segment, `**` for one or more (the rest). Everything else is literal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

class Glob {
 public:
  enum class Kind { dns, uri };
  Glob(std::string_view pattern, Kind kind);
  bool matches(std::string_view value) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  Kind kind_;
  std::vector<std::string> segments_;
};

// Splits on `sep` keeping empty parts ("a//b" → "a", "", "b").
std::vector<std::string_view> split(std::string_view text, char sep);

}  // namespace gatehouse::policy
