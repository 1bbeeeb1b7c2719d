#include "tests/support/reference_parser.hpp"

#include <algorithm>
#include <cctype>

namespace gatehouse::test {
namespace {

bool tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One CRLF-terminated line from `pos`; a bare CR or LF anywhere is invalid.
RefResult line(std::string_view buf, std::size_t& pos, std::string_view& out, std::string& why) {
  for (std::size_t i = pos; i < buf.size(); ++i) {
    if (buf[i] == '\n') {
      why = "bare LF";
      return RefResult::invalid;
    }
    if (buf[i] == '\r') {
      if (i + 1 >= buf.size()) return RefResult::incomplete;
      if (buf[i + 1] != '\n') {
        why = "bare CR";
        return RefResult::invalid;
      }
      out = buf.substr(pos, i - pos);
      pos = i + 2;
      return RefResult::complete;
    }
  }
  return RefResult::incomplete;
}

// Field lines up to the empty line.
RefResult fields(std::string_view buf, std::size_t& pos, FieldList& out, std::string& why) {
  for (;;) {
    std::string_view l;
    if (auto r = line(buf, pos, l, why); r != RefResult::complete) return r;
    if (l.empty()) return RefResult::complete;
    auto colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      why = "a field line without a name and colon: " + std::string(l);
      return RefResult::invalid;
    }
    std::string_view name = l.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), tchar)) {
      why = "a field name that is not a token: '" + std::string(name) + "'";
      return RefResult::invalid;
    }
    std::string_view value = trim(l.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        why = "a control character in the value of " + std::string(name);
        return RefResult::invalid;
      }
    out.emplace_back(std::string(name), std::string(value));
  }
}

}  // namespace

bool field_has_token(std::string_view value, std::string_view token) {
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    if (lower(trim(value.substr(start, end - start))) == lower(token)) return true;
    start = end + 1;
  }
  return false;
}

std::string normalized_name(std::string_view name) {
  std::string out = lower(trim(name));
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

std::vector<std::string> RefRequest::all(std::string_view normalized) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers)
    if (normalized_name(n) == normalized) out.push_back(v);
  return out;
}

RefResult ref_parse(std::string_view buf, std::size_t& pos_in, RefRequest& out, std::string& why) {
  std::size_t pos = pos_in;
  out = RefRequest{};
  std::string_view request_line;
  if (auto r = line(buf, pos, request_line, why); r != RefResult::complete) return r;
  auto sp1 = request_line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos) {
    why = "a request line that is not 'method SP target SP version': " + std::string(request_line);
    return RefResult::invalid;
  }
  out.method = request_line.substr(0, sp1);
  out.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  out.version = request_line.substr(sp2 + 1);
  if (out.method.empty() || !std::all_of(out.method.begin(), out.method.end(), tchar)) {
    why = "a method that is not a token";
    return RefResult::invalid;
  }
  if (!(out.target.starts_with("/") || out.target == "*") ||
      std::any_of(out.target.begin(), out.target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    why = "a target that is not origin-form (or *): " + out.target;
    return RefResult::invalid;
  }
  if (out.version != "HTTP/1.1" && out.version != "HTTP/1.0") {
    why = "version " + out.version;
    return RefResult::invalid;
  }
  if (auto r = fields(buf, pos, out.headers, why); r != RefResult::complete) return r;
  const std::size_t head_end = pos;
  auto te = out.all("transfer-encoding");
  auto cl = out.all("content-length");
  if (out.all("host").size() != 1) {
    why = "not exactly one Host";
    return RefResult::invalid;
  }
  auto upgrade = out.all("upgrade");
  bool connection_upgrade = false;
  for (const auto& c : out.all("connection")) connection_upgrade |= field_has_token(c, "upgrade");
  if (!upgrade.empty() && connection_upgrade) {
    if (!te.empty() || !cl.empty()) {
      why = "an upgrade with a body";
      return RefResult::invalid;
    }
    out.upgrade = out.complete = true;
    pos_in = pos;
    return RefResult::complete;
  }
  if (!te.empty()) {
    if (te.size() != 1 || lower(te[0]) != "chunked" || !cl.empty()) {
      why = "Transfer-Encoding other than one 'chunked' (or with Content-Length)";
      return RefResult::invalid;
    }
    out.chunked = true;
    for (;;) {
      std::string_view size_line;
      if (auto r = line(buf, pos, size_line, why); r != RefResult::complete) return r;
      if (size_line.empty() || size_line.size() > 15 || !std::all_of(size_line.begin(), size_line.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c));
          })) {
        why = "a chunk size line that is not bare hex: " + std::string(size_line);
        return RefResult::invalid;
      }
      std::size_t size = std::stoull(std::string(size_line), nullptr, 16);
      if (size == 0) {
        if (auto r = fields(buf, pos, out.trailers, why); r != RefResult::complete) return r;
        break;
      }
      if (buf.size() < pos + size + 2) return RefResult::incomplete;
      out.body.append(buf.substr(pos, size));
      pos += size;
      if (buf.substr(pos, 2) != "\r\n") {
        why = "chunk data not followed by CRLF";
        return RefResult::invalid;
      }
      pos += 2;
    }
  } else if (!cl.empty()) {
    if (cl.size() != 1 || cl[0].empty() || cl[0].size() > 16 ||
        !std::all_of(cl[0].begin(), cl[0].end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      why = "Content-Length that is not one decimal number";
      return RefResult::invalid;
    }
    std::size_t size = std::stoull(cl[0]);
    if (buf.size() < pos + size) return RefResult::incomplete;
    out.body = buf.substr(pos, size);
    pos += size;
  }
  out.wire_body = pos - head_end;
  out.complete = true;
  pos_in = pos;
  return RefResult::complete;
}

}  // namespace gatehouse::test
