// One direction of an HTTP/1.1 connection, parsed by Debian's http-parser (libhttp-parser-dev,
// nodejs/http-parser 2.9: small, C, strict about framing, rejects Content-Length together with
// chunked). It stops after each head so the caller can rewrite it, then re-frames the body:
// the bytes we forward are produced from what the parser understood, never copied raw, so a
// request we forward cannot mean something else to the upstream (no smuggling).
#pragma once

#include <http_parser.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::proxy::http {

struct Header {
  std::string name;
  std::string value;
};

struct Head {
  std::string method;  // requests
  std::string target;  // requests: as sent ("/path?q" or absolute form)
  int status = 0;      // responses
  std::string reason;  // responses
  int major = 1, minor = 1;
  std::vector<Header> headers;

  // The first value of `name` (case-insensitive), or nullptr.
  const std::string* find(std::string_view name) const;
};

bool iequals(std::string_view a, std::string_view b);
// True when the comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token);

class MessageParser {
 public:
  enum class Event { need_more, head, body_done, error };
  struct Limits {
    std::size_t max_head_size = 16 * 1024;
    std::size_t max_headers = 100;
  };

  MessageParser(http_parser_type type, Limits limits);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Parses from `data`; stops at the end of a head and at the end of a message. `consumed`
  // says how much was used. Re-framed body bytes are appended to `body_out`.
  Event feed(const char* data, std::size_t size, std::size_t& consumed, std::string& body_out);
  // The peer closed: completes a body that runs until the connection closes.
  Event finish(std::string& body_out);

  // Call before the response's body is parsed: a response to HEAD has none.
  void expect_no_body(bool none) { skip_body_ = none; }
  // Start over, e.g. after a request that asked for an upgrade was answered normally.
  void reset();

  const Head& head() const { return head_; }
  bool head_too_large() const { return too_large_ || HTTP_PARSER_ERRNO(&parser_) == HPE_HEADER_OVERFLOW; }
  bool keep_alive() const { return http_should_keep_alive(&parser_) != 0; }
  bool upgrade() const { return parser_.upgrade != 0; }
  bool chunked() const { return chunked_; }
  bool in_message() const { return in_message_; }  // a message has started and not ended
  std::string error() const;
  std::size_t head_bytes() const { return head_bytes_; }

 private:
  static int on_message_begin(http_parser* p);
  static int on_url(http_parser* p, const char* at, std::size_t n);
  static int on_status(http_parser* p, const char* at, std::size_t n);
  static int on_header_field(http_parser* p, const char* at, std::size_t n);
  static int on_header_value(http_parser* p, const char* at, std::size_t n);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, std::size_t n);
  static int on_message_complete(http_parser* p);
  static int on_chunk_header(http_parser* p);
  static int on_chunk_complete(http_parser* p);
  static MessageParser& self(http_parser* p) { return *static_cast<MessageParser*>(p->data); }
  bool grow(std::size_t n);  // counts head bytes; false past the limit

  http_parser_type type_;
  Limits limits_;
  http_parser parser_{};
  http_parser_settings settings_{};
  Head head_;
  std::vector<Header> trailers_;
  bool in_head_ = false, in_value_ = false, in_trailers_ = false, in_message_ = false;
  bool chunked_ = false, skip_body_ = false, too_large_ = false;
  bool head_done_ = false, message_done_ = false;
  std::size_t head_bytes_ = 0;
  std::string* body_out_ = nullptr;
};

}  // namespace gatehouse::proxy::http
