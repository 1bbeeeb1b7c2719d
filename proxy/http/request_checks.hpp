// What Gatehouse decides about one request from its parsed head and the connection's facts
// alone: forward it (a RequestPlan) or answer it itself (an Answer). No I/O and no clock, so a
// table of heads tests it, and HTTP/2 can hand it heads of its own: nothing here depends on
// how the head arrived beyond the parsed fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "conf/settings.hpp"
#include "policy/router.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/refusal_page.hpp"
#include "proxy/http/rewrite.hpp"

namespace gatehouse::proxy::http {

// What the connection knows that decides each of its requests; fixed for the connection.
struct ConnectionFacts {
  const conf::HttpSettings& http;
  const policy::Router& router;  // Host → route, as the SNI was routed
  int route = -1;                // the route the SNI chose
  std::string_view sni;
  const std::optional<Refusal>& refusal;  // verify = "optional" and the client was not accepted
  // The route's rules with path/methods, for this identity; null when the handshake decided for all.
  const policy::RequestGate* gate = nullptr;
  const Refusal* denied = nullptr;  // the page for a request the gate refuses (route, contact, reference)
};

// A request Gatehouse answers itself. Such an answer ends the connection: after a request we
// would not forward, the bytes that follow cannot be trusted to start the next one. The one
// exception is a rule's 403 for a well-framed request whose body (if any) is small enough to read
// and drop (close_connection false): its end, and so the next request's start, is known.
struct Answer {
  Response response;
  Close close = Close::bad_request;  // the request's access-log close, e.g. misdirected_request
  std::string detail;                // the log's detail, as the client is told; empty keeps the connection's
  std::string host;                  // the host the request named, once it was understood
  Close ends = Close::bad_request;   // why the connection ends (every plan refusal ends it as bad_request)
  // false: the connection may go on after this answer, once the request's body (a known length of
  // at most 64 KiB) is read and dropped, if the request and the connection allow keep-alive. Only
  // a 403 from a path or method rule does that.
  bool close_connection = true;
  gatehouse::Reason reason = gatehouse::Reason::ok;  // policy_denied for a request the rules refused
  std::string_view rule;                             // the rule that refused it
};

using Checked = std::variant<RequestPlan, Answer>;

// In order: the refusal page (verify = "optional"), the request itself (CONNECT, Host count,
// target, Connection, Upgrade: plan_request), then Host against the route the SNI chose (a
// request for another route needs a connection of its own: 421, the domain fronting guard),
// then the route's path and method rules: a path that cannot be normalized safely is a 400, a
// refused request a 403, and an allowed one is forwarded with the normalized path it was judged on.
Checked check_request(const Head& head, bool upgrade, const ConnectionFacts& facts);

// A head the parser refused: 431 past the limits, 505 for another version, 501 for another
// transfer coding, 400 for the rest. `partial` is what was parsed of it (its Accept is honoured).
Answer check_unparsable(const Head& partial, ParseProblem problem, const std::string& parse_error);

// A head that started and did not finish within head_timeout: 408.
Answer head_timeout_answer(const Head& partial);

// A 502 of ours when the upstream failed before its answer started (the exchange logs it itself).
Response bad_gateway(const Head& request, const std::string& keyword, const std::string& message);

}  // namespace gatehouse::proxy::http
