// One request's access-log line, the same for an HTTP/1.1 request and an HTTP/2 stream: the
// connection's record with what this request did added. Written once here so the two protocols
// cannot drift apart in what they log.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/reason.hpp"
#include "proxy/access_log.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/http/http_message.hpp"

namespace gatehouse::proxy::http {

struct RequestOutcome {
  const Head& request;
  std::string_view host;          // the Host the checks judged ("" before they ran)
  std::string_view rule;          // the path/method rule that decided, if one did
  std::string_view endpoint;      // the upstream endpoint (or the built-in whoami)
  int status = 0;
  int number = 0;                 // 1 for the connection's first request
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::chrono::steady_clock::time_point started;
  Close close = Close::done;
  gatehouse::Reason reason = gatehouse::Reason::ok;
  std::string_view detail;        // plain words; replaces the connection's when given
};

inline ConnectionRecord request_record(const ConnectionRecord& connection, const RequestOutcome& o) {
  ConnectionRecord r = connection;
  r.http_method = o.request.method.empty() ? "-" : o.request.method;
  r.http_target = o.request.target;
  r.http_host = o.host;
  r.http_status = o.status;
  r.http_request = o.number;
  r.endpoint = o.endpoint;
  r.bytes_client_to_upstream = o.bytes_in;
  r.bytes_upstream_to_client = o.bytes_out;
  r.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - o.started).count();
  r.close = o.close;
  if (o.reason != gatehouse::Reason::ok) r.reason = o.reason;
  if (!o.rule.empty()) {  // a path/method rule decided this request
    r.rule = o.rule;
    r.decision = o.reason == gatehouse::Reason::policy_denied ? "deny" : "allow";
  }
  if (!o.detail.empty()) r.detail = o.detail;
  return r;
}

}  // namespace gatehouse::proxy::http
