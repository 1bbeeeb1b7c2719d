// A small, strict HTTP/1.1 request parser for tests (RFC 9112 with nothing lenient), sharing no
// code with the proxy: what an upstream receives from Gatehouse must parse here, request after
// request, or the test (or the no-desync fuzz target) fails.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::test {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// A field name the way upstream frameworks compare them: lower-case, trimmed, '_' read as '-'.
std::string normalized_name(std::string_view name);

struct RefRequest {
  std::string method, target, version;
  FieldList headers, trailers;
  std::string body;           // decoded
  std::size_t wire_body = 0;  // bytes of the message after its head (chunk framing included)
  bool chunked = false;
  bool upgrade = false;  // Upgrade + Connection: upgrade; what follows is a tunnel
  bool complete = false;

  // Values of every field whose normalized name is `normalized`.
  std::vector<std::string> all(std::string_view normalized) const;
};

// True when the comma-separated `value` lists `token` (case-insensitive).
bool field_has_token(std::string_view value, std::string_view token);

enum class RefResult { complete, incomplete, invalid };

// Parses one request from `buf` at `pos` (advanced past it when complete).
RefResult ref_parse(std::string_view buf, std::size_t& pos, RefRequest& out, std::string& why);

}  // namespace gatehouse::test
