// What the exchanges of one client connection share, and how one exchange leaves it. Per
// connection: both streams, the bytes read and not yet parsed on each side, and the two parsers
// (a pipelined request, or the state of a kept-alive upstream connection, outlives a request).
// Everything that belongs to one request lives in its Exchange instead.
#pragma once

#include <string>
#include <utility>

#include "conf/settings.hpp"
#include "metrics/worker_counters.hpp"
#include "proxy/access_log.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/connection_group.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/identity_headers.hpp"
#include "proxy/http/inbox.hpp"
#include "proxy/http/request_checks.hpp"
#include "proxy/worker_context.hpp"

namespace gatehouse::proxy::http {

// The connection's facts and sinks, fixed while it serves requests.
struct SessionFacts {
  WorkerContext& worker;
  ConnectionMember& member;  // idle between requests; why Gatehouse ends the connection, if it does
  const conf::HttpSettings& http;
  conf::Duration idle_timeout;
  metrics::ListenerCounters& counters;
  const ConnectionRecord& connection;  // copied into each request's access-log line
  const ForwardFacts& forward;         // what the identity headers say
  ConnectionFacts checks;
  const std::string* whoami = nullptr;  // the built-in whoami's endpoint label when the route's upstream is it
  int& requests_logged;
  metrics::RouteCounters* route = nullptr;  // the route's counters (requests its rules refused)
};

// The upstream response limits: generous, and not the listener's (they protect us, not it).
inline constexpr MessageParser::Limits kResponseLimits{64 * 1024, 1000};

template <typename Client, typename Upstream>
struct Parts {
  Parts(Client& c, Upstream& u, const SessionFacts& f)
      : client(c),
        upstream(u),
        facts(f),
        request(HTTP_REQUEST,
                {static_cast<std::size_t>(f.http.max_head_size), static_cast<std::size_t>(f.http.max_headers)}),
        response(HTTP_RESPONSE, kResponseLimits) {
    auto keep = [&http = f.http](std::string_view name) { return trailer_allowed(name, http); };
    request.keep_trailers(keep);
    response.keep_trailers(keep);
  }
  Parts(const Parts&) = delete;
  Parts& operator=(const Parts&) = delete;

  Client& client;
  Upstream& upstream;
  const SessionFacts& facts;
  MessageParser request;
  MessageParser response;
  Inbox client_in, upstream_in;
  std::string endpoint;  // of the upstream connection in use (logged with each request on it)
};

// After one exchange: the connection reads the next request, or it ends, and why.
struct After {
  bool another = false;
  Close close = Close::done;  // when it ends: the connection's close reason
  static After next() { return {true, Close::done}; }
  static After end(Close why) { return {false, why}; }
};

}  // namespace gatehouse::proxy::http
