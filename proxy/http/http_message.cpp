#include "proxy/http/http_message.hpp"

#include <algorithm>
#include <cctype>

namespace gatehouse::proxy::http {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    auto part = value.substr(0, comma);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (iequals(part, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

const std::string* Head::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

MessageParser::MessageParser(http_parser_type type, Limits limits) : type_(type), limits_(limits) {
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &on_message_begin;
  settings_.on_url = &on_url;
  settings_.on_status = &on_status;
  settings_.on_header_field = &on_header_field;
  settings_.on_header_value = &on_header_value;
  settings_.on_headers_complete = &on_headers_complete;
  settings_.on_body = &on_body;
  settings_.on_message_complete = &on_message_complete;
  settings_.on_chunk_header = &on_chunk_header;
  settings_.on_chunk_complete = &on_chunk_complete;
  reset();
}

void MessageParser::reset() {
  http_parser_init(&parser_, type_);
  parser_.data = this;
  in_message_ = in_head_ = in_value_ = in_trailers_ = false;
  skip_body_ = too_large_ = false;
}

MessageParser::Event MessageParser::feed(const char* data, std::size_t size, std::size_t& consumed,
                                         std::string& body_out) {
  consumed = 0;
  if (size == 0) return Event::need_more;  // a zero-length execute would mean end of stream
  body_out_ = &body_out;
  head_done_ = message_done_ = false;
  consumed = http_parser_execute(&parser_, &settings_, data, size);
  body_out_ = nullptr;
  auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_PAUSED) http_parser_pause(&parser_, 0);
  else if (err != HPE_OK) return Event::error;
  if (head_done_) return Event::head;
  if (message_done_) return Event::body_done;
  // An upgrade request stops the parser right after its head: what follows is another protocol.
  if (parser_.upgrade && !in_message_) return Event::body_done;
  return Event::need_more;
}

MessageParser::Event MessageParser::finish(std::string& body_out) {
  if (!in_message_) return Event::need_more;
  body_out_ = &body_out;
  message_done_ = false;
  http_parser_execute(&parser_, &settings_, nullptr, 0);
  body_out_ = nullptr;
  auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_PAUSED) http_parser_pause(&parser_, 0);
  else if (err != HPE_OK) return Event::error;
  return message_done_ ? Event::body_done : Event::error;
}

std::string MessageParser::error() const {
  if (too_large_) return "the head is larger than allowed (" + std::to_string(limits_.max_head_size) + " bytes, " +
                         std::to_string(limits_.max_headers) + " headers)";
  auto err = static_cast<http_errno>(HTTP_PARSER_ERRNO(&parser_));
  return std::string(http_errno_name(err)) + ": " + http_errno_description(err);
}

bool MessageParser::grow(std::size_t n) {
  head_bytes_ += n;
  if (head_bytes_ > limits_.max_head_size) too_large_ = true;
  return !too_large_;
}

int MessageParser::on_message_begin(http_parser* p) {
  auto& s = self(p);
  s.head_ = Head{};
  s.trailers_.clear();
  s.in_message_ = s.in_head_ = true;
  s.in_value_ = s.in_trailers_ = false;
  s.chunked_ = false;
  s.head_bytes_ = 0;
  return 0;
}

int MessageParser::on_url(http_parser* p, const char* at, std::size_t n) {
  auto& s = self(p);
  s.head_.target.append(at, n);
  return s.grow(n) ? 0 : 1;
}

int MessageParser::on_status(http_parser* p, const char* at, std::size_t n) {
  auto& s = self(p);
  s.head_.reason.append(at, n);
  return s.grow(n) ? 0 : 1;
}

int MessageParser::on_header_field(http_parser* p, const char* at, std::size_t n) {
  auto& s = self(p);
  auto& list = s.in_trailers_ ? s.trailers_ : s.head_.headers;
  if (list.empty() || s.in_value_) {  // the field may arrive in pieces: only a value ends it
    if (list.size() >= s.limits_.max_headers) {
      s.too_large_ = true;
      return 1;
    }
    list.push_back({});
  }
  s.in_value_ = false;
  list.back().name.append(at, n);
  return s.grow(n + 4) ? 0 : 1;  // ": " and CRLF count too
}

int MessageParser::on_header_value(http_parser* p, const char* at, std::size_t n) {
  auto& s = self(p);
  auto& list = s.in_trailers_ ? s.trailers_ : s.head_.headers;
  s.in_value_ = true;
  if (list.empty()) return 1;
  list.back().value.append(at, n);
  return s.grow(n) ? 0 : 1;
}

int MessageParser::on_headers_complete(http_parser* p) {
  auto& s = self(p);
  s.head_.major = p->http_major;
  s.head_.minor = p->http_minor;
  if (s.type_ == HTTP_REQUEST) s.head_.method = http_method_str(static_cast<http_method>(p->method));
  else s.head_.status = static_cast<int>(p->status_code);
  s.chunked_ = (p->flags & F_CHUNKED) != 0;
  s.in_head_ = false;
  s.in_trailers_ = true;
  s.in_value_ = false;
  s.head_done_ = true;
  http_parser_pause(p, 1);
  return s.skip_body_ ? 1 : 0;
}

int MessageParser::on_body(http_parser* p, const char* at, std::size_t n) {
  self(p).body_out_->append(at, n);
  return 0;
}

int MessageParser::on_chunk_header(http_parser* p) {
  char size[32];
  int len = std::snprintf(size, sizeof size, "%llx\r\n", static_cast<unsigned long long>(p->content_length));
  self(p).body_out_->append(size, static_cast<std::size_t>(len));
  return 0;
}

int MessageParser::on_chunk_complete(http_parser* p) {
  auto& s = self(p);
  // After the last (empty) chunk this runs once the trailers are read: send them, then the end.
  if (p->flags & F_TRAILING) {
    for (const auto& t : s.trailers_) s.body_out_->append(t.name + ": " + t.value + "\r\n");
  }
  s.body_out_->append("\r\n");
  return 0;
}

int MessageParser::on_message_complete(http_parser* p) {
  auto& s = self(p);
  s.message_done_ = true;
  s.in_message_ = false;
  http_parser_pause(p, 1);
  return 0;
}

}  // namespace gatehouse::proxy::http
