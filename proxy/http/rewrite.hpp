// What Gatehouse decides about a request from its parsed head, and the heads it writes from that
// decision. Nothing that frames or routes a message is copied from the peer: the request line is
// rebuilt in origin-form, Host is the one authority that was checked, Content-Length or
// Transfer-Encoding is written from what the parser decided, Connection is ours. Hop-by-hop
// fields and every spelling of an identity field are dropped; ours are added.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "conf/settings.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/identity_headers.hpp"

namespace gatehouse::proxy::http {

// A request Gatehouse will not forward, and the answer that says why.
struct RequestRefusal {
  int status = 400;
  Close close = Close::bad_request;  // bad_request, method_not_allowed, request_head_too_large
  std::string message;               // plain words for the client
};

// What a request is for, decided once from its head; the forwarded head is built from it.
struct RequestPlan {
  std::string authority;             // Host sent upstream: the checked authority, port kept
  std::string host;                  // what routing compares: lower-case, no port, no final dot
  std::string target;                // origin-form ("/path?q") or "*"
  std::vector<std::string> upgrade;  // protocols asked for (all allowed); empty: no upgrade
  std::string_view rule;             // the path/method rule that allowed it; empty: the handshake's
};

using RequestDecision = std::variant<RequestPlan, RequestRefusal>;

// The answer to a request the parser refused: 431 for a head over the limits, 505 for another
// version, 501 for another transfer coding, 400 for the rest.
RequestRefusal unparsable_request(ParseProblem problem, const std::string& parse_error);
inline RequestRefusal unparsable_request(const MessageParser& parser) {
  return unparsable_request(parser.problem(), parser.error());
}

// `upgrade`: the parser saw Connection: upgrade with Upgrade (llhttp's upgrade flag).
RequestDecision plan_request(const Head& request, bool upgrade, const conf::HttpSettings& http);

// The host of a Host value or authority: lower-case, without the port or a final dot. Empty when
// it is not a valid authority (RFC 3986 reg-name, IPv4 or [IPv6], optional port).
std::string authority_host(std::string_view authority);

Head upstream_request(const Head& request, const RequestPlan& plan, bool keep_alive,
                      const conf::IdentityHeaderSettings& settings, const ForwardFacts& facts);
std::string serialize_request(const Head& head);

// A 101 is accepted only when it switches to exactly one of the protocols the request asked for.
bool upgrade_accepted(const Head& response, const std::vector<std::string>& asked);
// `client_minor`: the client's HTTP/1.x. `close`: tell the client this connection ends after the
// response. `upgrade`: a checked 101.
std::string serialize_response(const Head& response, int client_minor, bool close, bool upgrade);

// Trailer fields passed on: only those listed in `allowed_trailers`, never a protected name.
bool trailer_allowed(std::string_view name, const conf::HttpSettings& http);

// One chunk of a chunked body: its size in hex, CRLF, the bytes, CRLF.
std::string chunk_of(std::string_view data);

}  // namespace gatehouse::proxy::http
