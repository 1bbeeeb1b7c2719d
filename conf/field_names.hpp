// Which HTTP header field names Gatehouse treats as its own: the identity fields it writes (and
// the usual spoofable ones), and the fields that frame, route or concern one hop. Config
// validation and http mode share the lists. Names are compared the way upstream frameworks
// compare them, so no spelling slips through.
#pragma once

#include <string>
#include <string_view>

namespace gatehouse::conf {

// A field name as upstream frameworks compare it: lower-case, without surrounding whitespace,
// '_' read as '-' (CGI, WSGI, PHP, Rack and others turn both into the same variable).
std::string normalized_field_name(std::string_view name);
// Headers a client may not set, in any spelling: every name we add, and the usual spoofable ones.
bool is_client_identity_header(std::string_view name);
// Fields that frame or route a message (Content-Length, Transfer-Encoding, Host) or only
// concern one hop; Gatehouse writes its own and never forwards the peer's, in any spelling.
bool is_framing_or_hop_header(std::string_view name);

// RFC 9110 5.6.2 token: what a field name (and an Upgrade protocol name) must be.
bool is_token(std::string_view s);
// Identity, framing, routing or hop-by-hop: never a trailer, never named in Connection.
inline bool is_protected_field_name(std::string_view name) {
  return is_client_identity_header(name) || is_framing_or_hop_header(name);
}

}  // namespace gatehouse::conf
