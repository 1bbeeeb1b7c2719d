// Why a connection (or an http request) ended: the access log's `close` field, from one closed
// list so that a test or a dashboard compares values, not spellings. Outcomes carry a `Close`;
// the keyword is spelled only when a line or a page is written.
#pragma once

#include <cstdint>
#include <string_view>

namespace gatehouse::proxy {

enum class Close : std::uint8_t {
  done,                    // both sides finished
  client_closed,           // the client closed (between requests, or cutting a body short)
  client_error,            // reading from or writing to the client failed, or it sent a bad body (detail says how)
  upstream_error,          // the same with the upstream
  idle_timeout,            // nothing moved for idle_timeout
  head_timeout,            // http: a request head did not arrive within head_timeout
  keepalive_timeout,       // http: no next request within keepalive_timeout
  drained,                 // a drain closed it at a request boundary
  terminated,              // the drain deadline passed: Gatehouse cut it
  handshake_failed,        // refused or broken in the TLS handshake (reason says why)
  proxy_header_refused,    // the PROXY header in front of TLS was missing or malformed
  upstream_unreachable,    // no endpoint of the upstream answered
  upstream_tls_failed,     // the upstream's TLS handshake or certificate failed
  refused,                 // http, verify = "optional": answered with the refusal page
  bad_request,             // http: answered 4xx/5xx and closed
  misdirected_request,     // http: Host does not belong to the route the SNI chose
  method_not_allowed,      // http: CONNECT, answered 405
  request_head_too_large,  // http: the head is over the listener's limits, answered 431
  request_too_large,       // whoami: the request did not fit
  reverified_closed,       // a reload's CAs, CRLs or routes no longer pass the client
  max_connection_age,      // open for longer than max_connection_age
  stream_reset,            // http/2: the client reset the stream (RST_STREAM) before its end
  protocol_error,          // http/2: the client broke the protocol; GOAWAY PROTOCOL_ERROR (detail says how)
  abuse,                   // http/2: resets, control frames, header lists or CONTINUATIONs past the limits; GOAWAY ENHANCE_YOUR_CALM
};

constexpr std::string_view close_keyword(Close c) {
  switch (c) {  // a switch, so that a new value without its keyword is a compile warning
    case Close::done:
      return "done";
    case Close::client_closed:
      return "client_closed";
    case Close::client_error:
      return "client_error";
    case Close::upstream_error:
      return "upstream_error";
    case Close::idle_timeout:
      return "idle_timeout";
    case Close::head_timeout:
      return "head_timeout";
    case Close::keepalive_timeout:
      return "keepalive_timeout";
    case Close::drained:
      return "drained";
    case Close::terminated:
      return "terminated";
    case Close::handshake_failed:
      return "handshake_failed";
    case Close::proxy_header_refused:
      return "proxy_header_refused";
    case Close::upstream_unreachable:
      return "upstream_unreachable";
    case Close::upstream_tls_failed:
      return "upstream_tls_failed";
    case Close::refused:
      return "refused";
    case Close::bad_request:
      return "bad_request";
    case Close::misdirected_request:
      return "misdirected_request";
    case Close::method_not_allowed:
      return "method_not_allowed";
    case Close::request_head_too_large:
      return "request_head_too_large";
    case Close::request_too_large:
      return "request_too_large";
    case Close::reverified_closed:
      return "reverified_closed";
    case Close::max_connection_age:
      return "max_connection_age";
    case Close::stream_reset:
      return "stream_reset";
    case Close::protocol_error:
      return "protocol_error";
    case Close::abuse:
      return "abuse";
  }
  return "done";
}

}  // namespace gatehouse::proxy
