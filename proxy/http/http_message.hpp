// One direction of an HTTP/1.1 connection, parsed by llhttp (the parser Node.js uses, built in
// strict mode from Debian's node-llhttp: cmake/Llhttp.cmake). It stops after each head so the
// caller can check and rebuild it, then re-frames the body: the bytes we forward are produced
// from what the parser decided, never copied raw, so a message we forward cannot mean something
// else to the next parser (no smuggling). What RFC 9112 says a recipient MUST reject is an
// error here, before a byte of the message is forwarded.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::proxy::http {

struct Header {
  std::string name;
  std::string value;  // without the whitespace around it
};

// How a message's body is delimited, as the parser decided.
enum class Framing { none, content_length, chunked, until_close };

struct Head {
  std::string method;  // requests
  std::string target;  // requests: as sent ("/path?q" or absolute form)
  int status = 0;      // responses
  std::string reason;  // responses
  int major = 1, minor = 1;
  std::vector<Header> headers;
  Framing framing = Framing::none;
  std::uint64_t content_length = 0;  // with Framing::content_length (and a HEAD/304 answer's)
  bool has_content_length = false;   // a Content-Length header was sent

  // The first value of `name` (case-insensitive), or nullptr.
  const std::string* find(std::string_view name) const;
  // How many fields are named `name` (case-insensitive).
  std::size_t count(std::string_view name) const;
};

bool iequals(std::string_view a, std::string_view b);
// True when the comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token);
// The comma-separated elements of a header value, without surrounding whitespace; empty ones skipped.
std::vector<std::string_view> split_list(std::string_view value);

// Why a message was refused; each maps to one answer (400, 431, 501, 505).
enum class ParseProblem { none, malformed, too_large, version, transfer_coding };

class MessageParser {
 public:
  enum class Event { need_more, head, body_done, error };
  struct Limits {
    std::size_t max_head_size = 16 * 1024;
    std::size_t max_headers = 100;
  };
  // Which trailer fields of a chunked body are passed on (the rest are dropped).
  using TrailerFilter = std::function<bool(std::string_view name)>;

  MessageParser(llhttp_type_t type, Limits limits);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Parses from `data`; stops at the end of a head and at the end of a message. `consumed`
  // says how much was used. Re-framed body bytes are appended to `body_out`. After `head` the
  // parser must run once more even without input (pending()): a message without a body ends then.
  Event feed(const char* data, std::size_t size, std::size_t& consumed, std::string& body_out);
  // The peer closed: completes a body that runs until the connection closes.
  Event finish(std::string& body_out);
  // A head was reported and the parser has not run since.
  bool pending() const { return after_head_; }

  // Call before the response's body is parsed: a response to HEAD has none.
  void expect_no_body(bool none) { skip_body_ = none; }
  void keep_trailers(TrailerFilter filter) { keep_trailer_ = std::move(filter); }
  // Off: a chunked body comes out as its bare bytes (for an HTTP/1.0 peer, which knows no chunks).
  void emit_chunk_framing(bool on) { chunk_framing_ = on; }
  // Start over, e.g. after a request that asked for an upgrade was answered normally.
  void reset();

  const Head& head() const { return head_; }
  bool head_too_large() const { return problem_ == ParseProblem::too_large; }
  ParseProblem problem() const { return problem_; }
  bool keep_alive() const { return llhttp_should_keep_alive(&parser_) != 0; }
  bool upgrade() const { return parser_.upgrade != 0; }
  bool chunked() const { return head_.framing == Framing::chunked; }
  bool in_message() const { return in_message_; }  // a message has started and not ended
  std::string error() const;
  std::size_t head_bytes() const { return head_bytes_; }
  std::size_t trailers_dropped() const { return trailers_dropped_; }
  // With chunk framing off: the trailers the filter kept, once the message ended.
  const std::vector<Header>& kept_trailers() const { return kept_trailers_; }
  std::uint64_t body_bytes() const { return body_bytes_; }  // of the current message, without framing

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, std::size_t n);
  static int on_status(llhttp_t* p, const char* at, std::size_t n);
  static int on_version(llhttp_t* p, const char* at, std::size_t n);
  static int on_method(llhttp_t* p, const char* at, std::size_t n);
  static int on_header_field(llhttp_t* p, const char* at, std::size_t n);
  static int on_header_value(llhttp_t* p, const char* at, std::size_t n);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, std::size_t n);
  static int on_message_complete(llhttp_t* p);
  static int on_chunk_header(llhttp_t* p);
  static int on_chunk_complete(llhttp_t* p);
  static MessageParser& self(llhttp_t* p) { return *static_cast<MessageParser*>(p->data); }
  bool grow(std::size_t n);  // counts head bytes; false past the limit
  int refuse(ParseProblem problem, std::string why);
  int check_head();
  Event run(const char* data, std::size_t size, std::size_t& consumed);
  void remember_tail(const char* at, std::size_t consumed);

  llhttp_type_t type_;
  Limits limits_;
  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  Head head_;
  std::vector<Header> trailers_;
  std::vector<Header> kept_trailers_;
  TrailerFilter keep_trailer_;
  ParseProblem problem_ = ParseProblem::none;
  std::string why_;
  bool in_value_ = false, in_trailers_ = false, in_message_ = false;
  bool skip_body_ = false, last_chunk_ = false, version_checked_ = false, chunk_framing_ = true;
  const char* feed_start_ = nullptr;  // the buffer llhttp is running on
  std::string previous_tail_;         // the last bytes of the buffers before it
  bool head_done_ = false, message_done_ = false, after_head_ = false;
  std::size_t head_bytes_ = 0, trailers_dropped_ = 0;
  std::uint64_t body_bytes_ = 0;
  std::string* body_out_ = nullptr;
};

}  // namespace gatehouse::proxy::http
