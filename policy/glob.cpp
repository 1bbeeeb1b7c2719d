#include "policy/glob.hpp"

#include <algorithm>

namespace gatehouse::policy {
namespace {

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(sep, start);
    out.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

Glob::Glob(std::string_view pattern, Kind kind) : pattern_(pattern), kind_(kind) {
  for (auto part : split(pattern, kind == Kind::dns ? '.' : '/')) segments_.emplace_back(part);
}

// One pass per pattern segment over the set of value positions it can reach: O(segments x
// parts) whatever the pattern. (Trying every split of each `**` recursively was exponential:
// a pattern of many `**` against a long name from a client certificate took tens of seconds.)
bool Glob::matches(std::string_view value) const {
  const auto parts = split(value, kind_ == Kind::dns ? '.' : '/');
  const size_t n = parts.size();
  std::vector<char> reach(n + 1, 0), next(n + 1, 0);
  reach[0] = 1;  // before the first part
  for (const std::string& seg : segments_) {
    std::fill(next.begin(), next.end(), 0);
    if (seg == "**") {  // one or more parts: every position after the first reachable one
      size_t first = 0;
      while (first <= n && !reach[first]) ++first;
      for (size_t j = first + 1; j <= n; ++j) next[j] = 1;
    } else {
      for (size_t i = 0; i < n; ++i) {
        if (!reach[i]) continue;
        bool same =
            seg == "*" ? !parts[i].empty() : (kind_ == Kind::dns ? equal_nocase(seg, parts[i]) : seg == parts[i]);
        if (same) next[i + 1] = 1;
      }
    }
    reach.swap(next);
  }
  return reach[n] != 0;
}

}  // namespace gatehouse::policy
