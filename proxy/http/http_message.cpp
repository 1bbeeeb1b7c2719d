#include "proxy/http/http_message.hpp"

#include "conf/field_names.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace gatehouse::proxy::http {
namespace {

// Beyond 2^53 an upstream that reads lengths as doubles (JavaScript, some JSON-minded stacks)
// would frame the body differently from us: larger lengths and chunk sizes are refused.
constexpr std::uint64_t kMaxExactLength = (std::uint64_t{1} << 53) - 1;

bool ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && ows(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 9110 5.5: field values are visible characters, spaces and tabs (and obs-text).
bool valid_field_value(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

constexpr char kNoInput[1] = {0};

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  // ASCII only, as field names are (RFC 9110 5.1), and without a locale call per character.
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> out;
  while (!value.empty()) {
    auto comma = value.find(',');
    auto part = trim(value.substr(0, comma));
    if (!part.empty()) out.push_back(part);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

bool has_token(std::string_view value, std::string_view token) {
  // split_list's walk without its vector: asked for every field of every message.
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
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

std::size_t Head::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(), [&](const Header& h) { return iequals(h.name, name); }));
}

MessageParser::MessageParser(llhttp_type_t type, Limits limits) : type_(type), limits_(limits) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &on_message_begin;
  settings_.on_url = &on_url;
  settings_.on_status = &on_status;
  settings_.on_version = &on_version;
  settings_.on_header_field = &on_header_field;
  settings_.on_header_value = &on_header_value;
  settings_.on_header_value_complete = &on_header_value_complete;
  settings_.on_headers_complete = &on_headers_complete;
  settings_.on_body = &on_body;
  settings_.on_message_complete = &on_message_complete;
  settings_.on_chunk_header = &on_chunk_header;
  settings_.on_chunk_complete = &on_chunk_complete;
  reset();
}

void MessageParser::reset() {
  llhttp_init(&parser_, type_, &settings_);  // strict: no lenient flag is ever set
  parser_.data = this;
  in_message_ = in_value_ = in_trailers_ = false;
  skip_body_ = after_head_ = false;
  previous_tail_.clear();
  problem_ = ParseProblem::none;
  why_.clear();
}

MessageParser::Event MessageParser::run(const char* data, std::size_t size, std::size_t& consumed) {
  const char* at = data ? data : kNoInput;
  feed_start_ = at;
  auto err = llhttp_execute(&parser_, at, size);
  consumed = size;
  if (err == HPE_PAUSED) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - at);
    llhttp_resume(&parser_);
  } else if (err == HPE_PAUSED_UPGRADE) {
    // What follows the message is another protocol: the caller tunnels it or starts over.
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - at);
    return message_done_ ? Event::body_done : Event::need_more;
  } else if (err != HPE_OK) {
    if (problem_ == ParseProblem::none)
      problem_ = err == HPE_INVALID_VERSION ? ParseProblem::version : ParseProblem::malformed;
    return Event::error;
  }
  remember_tail(at, consumed);
  if (head_done_) return Event::head;
  if (message_done_) return Event::body_done;
  return Event::need_more;
}

void MessageParser::remember_tail(const char* at, std::size_t consumed) {
  constexpr std::size_t kKeep = 8;  // enough for "HTTP/" before a version split off
  std::string_view used(at, consumed);
  if (used.size() >= kKeep) {
    previous_tail_ = std::string(used.substr(used.size() - kKeep));
  } else {
    previous_tail_ += used;
    if (previous_tail_.size() > kKeep) previous_tail_.erase(0, previous_tail_.size() - kKeep);
  }
}

MessageParser::Event MessageParser::feed(const char* data, std::size_t size, std::size_t& consumed,
                                         std::string& body_out) {
  consumed = 0;
  if (problem_ != ParseProblem::none) return Event::error;
  body_out_ = &body_out;
  head_done_ = message_done_ = false;
  Event ev = run(data, size, consumed);
  body_out_ = nullptr;
  after_head_ = ev == Event::head;
  return ev;
}

MessageParser::Event MessageParser::finish(std::string& body_out) {
  if (!in_message_) return Event::need_more;
  body_out_ = &body_out;
  message_done_ = false;
  auto err = llhttp_finish(&parser_);
  body_out_ = nullptr;
  if (err != HPE_OK && err != HPE_PAUSED) return Event::error;
  return message_done_ ? Event::body_done : Event::error;
}

std::string MessageParser::error() const {
  if (!why_.empty()) return why_;
  auto err = llhttp_get_errno(&parser_);
  const char* reason = llhttp_get_error_reason(&parser_);
  return std::string(llhttp_errno_name(err)) + ": " + (reason ? reason : "invalid message");
}

bool MessageParser::grow(std::size_t n) {
  head_bytes_ += n;
  if (head_bytes_ > limits_.max_head_size)
    refuse(ParseProblem::too_large, "the head is larger than allowed (" + std::to_string(limits_.max_head_size) +
                                        " bytes, " + std::to_string(limits_.max_headers) + " headers)");
  return problem_ == ParseProblem::none;
}

int MessageParser::refuse(ParseProblem problem, std::string why) {
  if (problem_ == ParseProblem::none) {
    problem_ = problem;
    why_ = std::move(why);
  }
  return HPE_USER;
}

int MessageParser::on_message_begin(llhttp_t* p) {
  auto& s = self(p);
  s.head_ = Head{};
  s.trailers_.clear();
  s.kept_trailers_.clear();
  s.in_message_ = true;
  s.in_value_ = s.in_trailers_ = s.last_chunk_ = false;
  s.head_bytes_ = 0;
  s.body_bytes_ = 0;
  s.version_checked_ = false;
  return 0;
}

int MessageParser::on_url(llhttp_t* p, const char* at, std::size_t n) {
  auto& s = self(p);
  s.head_.target.append(at, n);
  return s.grow(n) ? 0 : HPE_USER;
}

// llhttp also parses RTSP/1.0 and ICE/1.0 lines and reports them as version 1.0: the protocol
// name just before the version must be HTTP. It is in this buffer or ends the previous one.
int MessageParser::on_version(llhttp_t* p, const char* at, std::size_t) {
  auto& s = self(p);
  if (s.version_checked_) return 0;
  s.version_checked_ = true;
  const auto here = static_cast<std::size_t>(at - s.feed_start_);
  const std::size_t from_here = std::min<std::size_t>(here, 5);
  std::string before = s.previous_tail_ + std::string(at - from_here, from_here);
  if (before.size() < 5 || before.compare(before.size() - 5, 5, "HTTP/") != 0)
    return s.refuse(ParseProblem::version, "only HTTP/1.0 and HTTP/1.1 are served here, not another protocol");
  return 0;
}

int MessageParser::on_status(llhttp_t* p, const char* at, std::size_t n) {
  auto& s = self(p);
  s.head_.reason.append(at, n);
  return s.grow(n) ? 0 : HPE_USER;
}

int MessageParser::on_header_field(llhttp_t* p, const char* at, std::size_t n) {
  auto& s = self(p);
  auto& list = s.in_trailers_ ? s.trailers_ : s.head_.headers;
  if (list.empty() || s.in_value_) {  // a name may arrive in pieces: only a value ends it
    if (list.size() >= s.limits_.max_headers)
      return s.refuse(ParseProblem::too_large, "more than " + std::to_string(s.limits_.max_headers) + " header fields");
    if (list.empty()) list.reserve(16);  // most heads have fewer: one allocation, not five
    list.push_back({});
  }
  s.in_value_ = false;
  list.back().name.append(at, n);
  return s.grow(n + 4) ? 0 : HPE_USER;  // ": " and CRLF count too
}

int MessageParser::on_header_value(llhttp_t* p, const char* at, std::size_t n) {
  auto& s = self(p);
  auto& list = s.in_trailers_ ? s.trailers_ : s.head_.headers;
  if (list.empty()) return s.refuse(ParseProblem::malformed, "a header value without a name");
  list.back().value.append(at, n);
  return s.grow(n) ? 0 : HPE_USER;
}

// Runs for empty values too: it is what ends a field, so the next name starts a new one.
int MessageParser::on_header_value_complete(llhttp_t* p) {
  auto& s = self(p);
  auto& list = s.in_trailers_ ? s.trailers_ : s.head_.headers;
  s.in_value_ = true;
  if (list.empty()) return 0;
  Header& h = list.back();
  // llhttp 8.1 lets a line start with ':' (an empty name): a field name is a token, never empty.
  if (!conf::is_token(h.name)) return s.refuse(ParseProblem::malformed, "a header line without a valid name");
  const std::string_view trimmed = trim(h.value);  // in place: no copy of the value
  h.value.erase(static_cast<std::size_t>(trimmed.data() + trimmed.size() - h.value.data()));
  h.value.erase(0, static_cast<std::size_t>(trimmed.data() - h.value.data()));
  if (!valid_field_value(h.value))
    return s.refuse(ParseProblem::malformed, "the value of '" + h.name + "' holds a control character");
  return 0;
}

int MessageParser::check_head() {
  Head& h = head_;
  if (h.major != 1 || h.minor > 1)
    return refuse(ParseProblem::version, "HTTP/" + std::to_string(h.major) + "." + std::to_string(h.minor) +
                                             " is not supported here (HTTP/1.0 and HTTP/1.1 are)");
  // Only "chunked" is understood; re-framing any other coding would change the body's meaning.
  if (parser_.flags & F_TRANSFER_ENCODING) {
    std::vector<std::string_view> codings;
    for (const auto& f : h.headers)
      if (iequals(f.name, "transfer-encoding"))
        for (auto c : split_list(f.value)) codings.push_back(c);
    if (codings.size() != 1 || !iequals(codings.front(), "chunked"))
      return refuse(ParseProblem::transfer_coding, "Transfer-Encoding other than \"chunked\" is not supported");
  }
  h.has_content_length = (parser_.flags & F_CONTENT_LENGTH) != 0;
  if (h.has_content_length) h.content_length = parser_.content_length;
  if (h.content_length > kMaxExactLength)
    return refuse(ParseProblem::malformed, "Content-Length " + std::to_string(h.content_length) + " is larger than " +
                                               std::to_string(kMaxExactLength));
  const bool bodiless =
      (type_ == HTTP_RESPONSE) && (skip_body_ || h.status < 200 || h.status == 204 || h.status == 304);
  if (bodiless)
    h.framing = Framing::none;
  else if (parser_.flags & F_CHUNKED)
    h.framing = Framing::chunked;
  else if (h.has_content_length)
    h.framing = Framing::content_length;
  else
    h.framing = type_ == HTTP_RESPONSE ? Framing::until_close : Framing::none;
  return 0;
}

int MessageParser::on_headers_complete(llhttp_t* p) {
  auto& s = self(p);
  s.head_.major = p->http_major;
  s.head_.minor = p->http_minor;
  if (s.type_ == HTTP_REQUEST)
    s.head_.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  else
    s.head_.status = static_cast<int>(p->status_code);
  if (s.check_head() != 0) return -1;
  // llhttp's own "no body" mark, read right after this: llhttp 8.1 would read a 1xx, 204 or 304's
  // Content-Length or chunked body, which RFC 9112 6.3 says such a response never has.
  if (s.type_ == HTTP_RESPONSE && s.head_.framing == Framing::none) p->flags |= F_SKIPBODY;
  s.in_trailers_ = true;
  s.in_value_ = false;
  s.head_done_ = true;
  return HPE_PAUSED;  // the caller checks and forwards the head before any body byte
}

int MessageParser::on_body(llhttp_t* p, const char* at, std::size_t n) {
  auto& s = self(p);
  s.body_out_->append(at, n);
  s.body_bytes_ += n;
  return 0;
}

int MessageParser::on_chunk_header(llhttp_t* p) {
  auto& s = self(p);
  if (p->content_length > kMaxExactLength) {
    s.refuse(ParseProblem::malformed, "a chunk larger than " + std::to_string(kMaxExactLength) + " bytes");
    return -1;
  }
  s.last_chunk_ = p->content_length == 0;
  if (!s.chunk_framing_) return 0;
  char size[32];
  int len = std::snprintf(size, sizeof size, "%llx\r\n", static_cast<unsigned long long>(p->content_length));
  s.body_out_->append(size, static_cast<std::size_t>(len));
  return 0;
}

int MessageParser::on_chunk_complete(llhttp_t* p) {
  auto& s = self(p);
  if (!s.last_chunk_ && s.chunk_framing_) s.body_out_->append("\r\n");  // the last one ends with the trailers
  return 0;
}

int MessageParser::on_message_complete(llhttp_t* p) {
  auto& s = self(p);
  if (s.head_.framing == Framing::chunked && !s.chunk_framing_) {
    for (auto& t : s.trailers_) {  // bare bytes: the caller sends the kept trailers its own way (HTTP/2)
      if (s.keep_trailer_ && s.keep_trailer_(t.name))
        s.kept_trailers_.push_back(std::move(t));
      else
        ++s.trailers_dropped_;
    }
  } else if (s.head_.framing == Framing::chunked) {
    for (const auto& t : s.trailers_) {
      if (s.keep_trailer_ && s.keep_trailer_(t.name))
        s.body_out_->append(t.name + ": " + t.value + "\r\n");
      else
        ++s.trailers_dropped_;
    }
    s.body_out_->append("\r\n");
  }
  s.message_done_ = true;
  s.in_message_ = false;
  return HPE_PAUSED;
}

}  // namespace gatehouse::proxy::http
