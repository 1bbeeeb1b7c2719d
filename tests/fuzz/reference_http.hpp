// A strict, deliberately small HTTP/1.1 request parser that shares no code with the proxy: the
// reference the no-desync checks read Gatehouse's upstream bytes with. It accepts only the
// canonical form Gatehouse must write (CRLF lines, "Name: value", one framing field, chunked
// without extensions) and says where anything else starts.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::test::reference {

struct Request {
  std::string method, target, version;
  std::vector<std::pair<std::string, std::string>> headers;
  std::uint64_t body_length = 0;
  bool complete = false;  // the body ended (false: the stream stopped inside it)
};

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Lower-case, no surrounding whitespace, '_' as '-': how upstream frameworks compare names.
inline std::string normalized(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out = lower(s);
  for (char& c : out)
    if (c == '_') c = '-';
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view wire) : in_(wire) {}

  // Parses every request; false (with error()) at the first byte that is not canonical.
  bool parse(std::vector<Request>& out) {
    while (pos_ < in_.size()) {
      Request r;
      if (!head(r)) return false;
      if (!body(r)) return false;
      out.push_back(std::move(r));
      if (!out.back().complete) return true;
    }
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  static bool tchar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  }
  bool fail(std::string why) {
    error_ = why + " at byte " + std::to_string(pos_);
    return false;
  }
  bool line(std::string_view& out) {
    auto end = in_.find("\r\n", pos_);
    if (end == std::string_view::npos) return fail("a line without CRLF");
    out = in_.substr(pos_, end - pos_);
    if (out.find('\n') != std::string_view::npos || out.find('\r') != std::string_view::npos) return fail("a bare CR or LF");
    pos_ = end + 2;
    return true;
  }
  bool head(Request& r) {
    std::string_view l;
    if (!line(l)) return false;
    auto sp1 = l.find(' '), sp2 = l.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == sp2) return fail("a request line without three parts");
    r.method = l.substr(0, sp1);
    r.target = l.substr(sp1 + 1, sp2 - sp1 - 1);
    r.version = l.substr(sp2 + 1);
    for (char c : r.method)
      if (!tchar(c)) return fail("a method that is not a token");
    for (char c : r.target)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return fail("a target with a space or control byte");
    if (r.version != "HTTP/1.1" && r.version != "HTTP/1.0") return fail("version " + r.version);
    for (;;) {
      if (!line(l)) return false;
      if (l.empty()) return true;
      auto colon = l.find(':');
      if (colon == std::string_view::npos || colon == 0) return fail("a header line without a name");
      for (char c : l.substr(0, colon))
        if (!tchar(c)) return fail("a header name that is not a token");
      std::string_view value = l.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      for (char c : value)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return fail("a control byte in a value");
      r.headers.emplace_back(std::string(l.substr(0, colon)), std::string(value));
    }
  }
  bool body(Request& r) {
    int lengths = 0, codings = 0;
    std::string length;
    for (const auto& [n, v] : r.headers) {
      std::string name = normalized(n);
      if (name == "content-length") ++lengths, length = v;
      if (name == "transfer-encoding") {
        ++codings;
        if (lower(v) != "chunked") return fail("Transfer-Encoding " + v);
      }
    }
    if (lengths + codings > 1) return fail("more than one framing field");
    if (lengths == 1) {
      if (length.empty() || length.size() > 18 || length.find_first_not_of("0123456789") != std::string::npos)
        return fail("Content-Length " + length);
      std::uint64_t declared = std::stoull(length);
      std::size_t have = static_cast<std::size_t>(std::min<std::uint64_t>(declared, in_.size() - pos_));
      pos_ += have;
      r.body_length = have;
      r.complete = have == declared;
      return true;
    }
    if (codings == 0) {
      r.complete = true;
      return true;
    }
    return chunks(r);
  }
  bool chunks(Request& r) {
    for (;;) {
      if (pos_ == in_.size()) return true;  // cut short: incomplete
      std::string_view l;
      auto end = in_.find("\r\n", pos_);
      if (end == std::string_view::npos) return true;
      if (!line(l)) return false;
      if (l.empty() || l.size() > 15 || l.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
        return fail("a chunk size line '" + std::string(l) + "'");
      std::uint64_t size = std::stoull(std::string(l), nullptr, 16);
      if (size == 0) {
        for (;;) {  // trailers, then the empty line
          if (in_.find("\r\n", pos_) == std::string_view::npos) return true;
          if (!line(l)) return false;
          if (l.empty()) {
            r.complete = true;
            return true;
          }
          if (l.find(':') == std::string_view::npos) return fail("a trailer line without a name");
        }
      }
      if (in_.size() - pos_ < size + 2) {
        r.body_length += std::min<std::uint64_t>(size, in_.size() - pos_);
        pos_ = in_.size();
        return true;
      }
      if (in_.substr(pos_ + size, 2) != "\r\n") return fail("a chunk not followed by CRLF");
      pos_ += size + 2;
      r.body_length += size;
    }
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace gatehouse::test::reference
