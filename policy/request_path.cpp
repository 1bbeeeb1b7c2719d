#include "policy/request_path.hpp"

#include <algorithm>
#include <cstring>

namespace gatehouse::policy {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

// One segment at a time: decodes what may be decoded, refuses what no two upstreams read alike.
PathProblem decode_segment(std::string_view raw, std::string& out) {
  static const char kHex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\') return PathProblem::backslash;
    // The HTTP parser refuses these already; the judged path must not depend on it.
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return PathProblem::control;
    if (c == ';') return PathProblem::path_parameter;
    if (c != '%') {
      out += c;
      continue;
    }
    if (i + 2 >= raw.size()) return PathProblem::bad_percent;
    const int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
    if (hi < 0 || lo < 0) return PathProblem::bad_percent;
    const auto byte = static_cast<unsigned char>(hi * 16 + lo);
    if (byte == '/' || byte == '\\') return PathProblem::encoded_slash;
    if (byte == 0) return PathProblem::encoded_nul;
    if (byte == ';') return PathProblem::path_parameter;
    if (unreserved(byte)) {
      out += static_cast<char>(byte);
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
    i += 2;
  }
  return PathProblem::none;
}

// Glob within one segment: '*' any run of characters. Iterative with one backtrack point, so
// O(pattern x value) at worst.
bool segment_matches(std::string_view pat, std::string_view value) {
  size_t p = 0, v = 0, star = std::string_view::npos, mark = 0;
  while (v < value.size()) {
    if (p < pat.size() && pat[p] != '*' && pat[p] == value[v]) {
      ++p;
      ++v;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace

void split_path(std::string_view path, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  for (;;) {
    const size_t at = path.find('/', start);
    out.push_back(path.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return;
    start = at + 1;
  }
}

NormalizedTarget normalize_target(std::string_view target) {
  NormalizedTarget out;
  if (target == "*") {
    out.path = out.target = "*";
    return out;
  }
  if (!target.starts_with('/')) {
    out.problem = PathProblem::not_origin_form;
    return out;
  }
  const size_t q = target.find('?');
  const std::string_view raw = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q);
  // Segments after the leading '/'; decoding first, so "%2e%2e" is resolved as "..".
  std::vector<std::string> kept;
  std::string segment;
  size_t start = 1;
  bool trailing_slash = false;
  for (;;) {
    const size_t at = raw.find('/', start);
    const std::string_view part = raw.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    const bool last = at == std::string_view::npos;
    segment.clear();
    if (auto p = decode_segment(part, segment); p != PathProblem::none) {
      out.problem = p;
      return out;
    }
    if (segment == "..") {
      if (kept.empty()) {
        out.problem = PathProblem::above_root;
        return out;
      }
      kept.pop_back();
      trailing_slash = true;  // "/a/b/.." is the folder "/a/"
    } else if (segment == ".") {
      trailing_slash = true;
    } else if (segment.empty()) {
      trailing_slash = last;  // "//" collapses; a final '/' is kept
    } else {
      kept.push_back(segment);
      trailing_slash = false;
    }
    if (last) break;
    start = at + 1;
  }
  out.path = "/";
  for (size_t i = 0; i < kept.size(); ++i) out.path += (i ? "/" : "") + kept[i];
  if (trailing_slash && !kept.empty()) out.path += '/';
  out.target = out.path;
  out.target += query;
  return out;
}

const char* path_problem_text(PathProblem problem) {
  switch (problem) {
    case PathProblem::none:
      return "";
    case PathProblem::bad_percent:
      return "The request path has a '%' that is not followed by two hex digits.";
    case PathProblem::encoded_slash:
      return "The request path encodes a slash (%2F or %5C); it cannot be judged safely.";
    case PathProblem::encoded_nul:
      return "The request path encodes a NUL byte (%00).";
    case PathProblem::backslash:
      return "The request path contains a backslash.";
    case PathProblem::control:
      return "The request path contains a control character.";
    case PathProblem::path_parameter:
      return "The request path contains ';' (path parameters are not accepted here).";
    case PathProblem::above_root:
      return "The request path climbs above the root with \"..\".";
    case PathProblem::not_origin_form:
      return "The request target is not a path.";
  }
  return "";
}

std::optional<PathPattern> PathPattern::compile(std::string_view pattern, std::string& error) {
  if (!pattern.starts_with('/')) {
    error = "path \"" + std::string(pattern) + "\" must start with '/'";
    return std::nullopt;
  }
  if (pattern.find_first_of("?#%;\\") != std::string_view::npos) {
    error = "path \"" + std::string(pattern) +
            "\" may not contain '?', '#', '%', ';' or '\\': it is matched against the decoded, normalized path";
    return std::nullopt;
  }
  PathPattern out;
  out.text_ = pattern;
  std::vector<std::string_view> parts;
  split_path(pattern, parts);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string_view s = parts[i];
    const bool inner = i > 0 && i + 1 < parts.size();
    if (s == "." || s == ".." || (inner && s.empty())) {
      error = "path \"" + std::string(pattern) + "\" is not normalized (no \"//\", \".\" or \"..\" segments)";
      return std::nullopt;
    }
    if (s != "**" && s.find("**") != std::string_view::npos) {
      error = "path \"" + std::string(pattern) + "\": \"**\" must be a whole segment (\"/a/**\")";
      return std::nullopt;
    }
    out.segments_.emplace_back(s);
  }
  return out;
}

// One pass per pattern segment over the set of reachable positions, like Glob: O(segments x
// parts). Paths of under 64 segments (all real ones) keep the set in one word: no allocation.
template <typename Set>
bool PathPattern::match_with(const std::vector<std::string_view>& parts, Set reach) const {
  const size_t n = parts.size();
  reach.set(0);
  for (const std::string& seg : segments_) {
    Set next(n + 1);
    if (seg == "**") {  // zero or more segments: every position from the first reachable one
      size_t first = 0;
      while (first <= n && !reach.test(first)) ++first;
      for (size_t j = first; j <= n; ++j) next.set(j);
    } else {
      const bool wild = seg.find('*') != std::string::npos;
      for (size_t i = 0; i < n; ++i) {
        if (!reach.test(i)) continue;
        const bool same = !wild ? seg == parts[i] : seg == "*" ? !parts[i].empty() : segment_matches(seg, parts[i]);
        if (same) next.set(i + 1);
      }
    }
    if (next.none()) return false;
    reach = std::move(next);
  }
  return reach.test(n);
}

bool PathPattern::matches(const std::vector<std::string_view>& parts) const {
  if (parts.size() < 64) return match_with(parts, WordSet(parts.size() + 1));
  return match_with(parts, VectorSet(parts.size() + 1));
}

bool is_method_token(std::string_view method) {
  static const char kSpecials[] = "!#$%&'*+-.^_`|~";
  return !method.empty() && std::all_of(method.begin(), method.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || (c != 0 && std::strchr(kSpecials, c) != nullptr);
  });
}

}  // namespace gatehouse::policy
