#include "proxy/h2/request_head.hpp"

#include <cctype>
#include <charconv>

namespace gatehouse::proxy::h2 {
namespace {

// nghttp2 checks these too; the HTTP/1.1 hop makes them ours to be sure of: a CR or LF that
// reached the upstream's request line or a field would start a request nobody checked.
bool safe_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name.substr(name.front() == ':' ? 1 : 0))
    if (!(std::islower(c) || std::isdigit(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                                    std::string_view::npos))
      return false;
  return true;
}

bool safe_value(std::string_view value) {
  return value.find_first_of(std::string_view("\0\r\n", 3)) == std::string_view::npos;
}

bool safe_target(std::string_view target) {
  for (unsigned char c : target)
    if (c <= 0x20 || c >= 0x7f) return false;  // no space, control or non-ASCII byte in a request line
  return true;
}

}  // namespace

bool RequestHead::add(std::string_view name, std::string_view value) {
  bytes_ += name.size() + value.size() + 32;  // counted on past the limits: how far over says bomb or not
  ++fields_;
  if (too_large_) return false;
  if (bytes_ > limits_.max_bytes || fields_ > limits_.max_fields) {
    too_large_ = true;
    return false;
  }
  if (!safe_name(name) || !safe_value(value)) {
    unsafe_ = true;
    return true;  // answered 400 once the head is complete
  }
  if (name.starts_with(':')) {
    if (name == ":method") head_.method = value;
    else if (name == ":path") head_.target = value;
    else if (name == ":scheme") scheme_ = value;
    else if (name == ":authority") {
      authority_ = value;
      has_authority_ = true;
    }
    return true;  // nghttp2 refused any other pseudo-field
  }
  // RFC 9113 8.2.3: cookie crumbs are one field again before an HTTP/1.1 hop.
  if (name == "cookie") {
    cookie_ += (cookie_.empty() ? "" : "; ") + std::string(value);
    return true;
  }
  if (name == "content-type" && value.starts_with("application/grpc")) grpc_ = true;
  if (head_.headers.empty()) head_.headers.reserve(16);  // one allocation for most heads
  head_.headers.push_back({std::string(name), std::string(value)});
  return true;
}

std::string RequestHead::finish(bool end_stream) {
  head_.major = 1;
  head_.minor = 1;
  if (unsafe_) return "A header field name or value carries a byte HTTP does not allow there.";
  if (head_.method.empty()) return "The request has no :method.";
  if (!safe_target(head_.target)) return "The request's :path carries a space, a control or a non-ASCII byte.";
  if (head_.method != "CONNECT" && head_.target.empty()) return "The request has no :path.";
  if (head_.method != "CONNECT" && scheme_ != "https")
    return "The request's :scheme is \"" + scheme_ + "\"; this connection is https.";
  const std::string* host = head_.find("host");
  if (host && head_.count("host") > 1) return "A request may carry one Host header, not several.";
  if (has_authority_ && host && *host != authority_)
    return "The request's :authority and Host header name different hosts.";
  // The Host the checks compare and the upstream receives is the one the client named.
  if (has_authority_ && !host) head_.headers.insert(head_.headers.begin(), {"host", authority_});
  if (!cookie_.empty()) head_.headers.push_back({"cookie", cookie_});
  if (const std::string* length = head_.find("content-length")) {
    std::uint64_t n = 0;
    const char* end = length->data() + length->size();
    auto [p, ec] = std::from_chars(length->data(), end, n);
    if (ec != std::errc() || p != end || length->empty()) return "The request's content-length is not a number.";
    head_.framing = n == 0 && end_stream ? http::Framing::none : http::Framing::content_length;
    head_.content_length = n;
    head_.has_content_length = true;
    if (end_stream && n != 0) return "The request's content-length promises a body that did not come.";
  } else {
    // A body of unknown length becomes chunked on the HTTP/1.1 hop.
    head_.framing = end_stream ? http::Framing::none : http::Framing::chunked;
  }
  return "";
}

}  // namespace gatehouse::proxy::h2
