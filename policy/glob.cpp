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

bool Glob::matches(std::string_view value) const {
  return match_from(0, split(value, kind_ == Kind::dns ? '.' : '/'), 0);
}

bool Glob::match_from(size_t p, const std::vector<std::string_view>& parts, size_t v) const {
  for (; p < segments_.size(); ++p, ++v) {
    const std::string& seg = segments_[p];
    if (seg == "**") {
      // One or more segments: try every split, shortest first.
      for (size_t taken = 1; v + taken <= parts.size(); ++taken)
        if (match_from(p + 1, parts, v + taken)) return true;
      return false;
    }
    if (v >= parts.size()) return false;
    if (seg == "*") {
      if (parts[v].empty()) return false;
      continue;
    }
    bool same = kind_ == Kind::dns ? equal_nocase(seg, parts[v]) : seg == parts[v];
    if (!same) return false;
  }
  return v == parts.size();
}

}  // namespace gatehouse::policy
