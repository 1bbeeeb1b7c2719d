// An HTTP/2 request's header fields, as nghttp2 hands them over, made into the Head that the
// HTTP/1.1 checks (request_checks.hpp) judge. nghttp2's HTTP messaging has already refused what
// RFC 9113 calls malformed (pseudo-fields out of order or unknown, upper-case names,
// connection-specific fields, TE other than "trailers", a Content-Length that disagrees with the
// DATA); what is left to us: the size of the list, :authority against Host, and the framing the
// HTTP/1.1 upstream will see. Pure, so a table tests it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/http/http_message.hpp"

namespace gatehouse::proxy::h2 {

struct HeadLimits {
  std::size_t max_bytes = 16 * 1024;  // RFC 9113 6.5.2 size: name + value + 32 per field
  std::size_t max_fields = 100;
};

class RequestHead {
 public:
  explicit RequestHead(HeadLimits limits) : limits_(limits) {}

  // False once the list is over the limits: the rest of it is not kept (431).
  bool add(std::string_view name, std::string_view value);
  bool too_large() const { return too_large_; }
  // Far over the limits (4 times): no request needs that; an HPACK bomb does.
  bool a_bomb() const { return bytes_ > 4 * limits_.max_bytes || fields_ > 4 * limits_.max_fields; }

  // After the last field. `end_stream`: the HEADERS frame ended the stream (no body). Returns an
  // empty string, or what is wrong with the request in plain words (answered 400).
  std::string finish(bool end_stream);
  const http::Head& head() const { return head_; }
  bool is_grpc() const { return grpc_; }

 private:
  HeadLimits limits_;
  http::Head head_;
  std::string authority_, scheme_, cookie_;
  bool has_authority_ = false, too_large_ = false, grpc_ = false, unsafe_ = false;
  std::size_t bytes_ = 0, fields_ = 0;
};

}  // namespace gatehouse::proxy::h2
