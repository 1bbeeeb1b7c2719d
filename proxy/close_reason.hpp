// Why a connection (or an http request) ended: the access log's `close` field, from one closed
// list so that a test or a dashboard compares values, not spellings.
#pragma once

#include <cstdint>
#include <string_view>

namespace gatehouse::proxy {

enum class Close : std::uint8_t {
  done,                  // both sides finished
  client_closed,         // the client closed between requests
  client_error,          // reading from or writing to the client failed (detail says how)
  upstream_error,        // the same with the upstream
  idle_timeout,          // nothing moved for idle_timeout
  head_timeout,          // http: a request head did not arrive within header_timeout
  drained,               // a drain closed it at a request boundary
  terminated,            // the drain deadline passed: Gatehouse cut it
  handshake_failed,      // refused or broken in the TLS handshake (reason says why)
  proxy_header_refused,  // the PROXY header in front of TLS was missing or malformed
  upstream_unreachable,  // no endpoint of the upstream answered
  upstream_tls_failed,   // the upstream's TLS handshake or certificate failed
  refused,               // http, verify = "optional": answered with the refusal page
  bad_request,           // http: answered 4xx/5xx and closed
  misdirected_request,   // http: Host does not belong to the route the SNI chose
  request_too_large,     // whoami: the request did not fit
  reverified_closed,     // a reload's CAs, CRLs or routes no longer pass the client
  max_connection_age,    // open for longer than max_connection_age
};

constexpr std::string_view close_keyword(Close c) {
  constexpr std::string_view kNames[] = {"done",
                                         "client_closed",
                                         "client_error",
                                         "upstream_error",
                                         "idle_timeout",
                                         "head_timeout",
                                         "drained",
                                         "terminated",
                                         "handshake_failed",
                                         "proxy_header_refused",
                                         "upstream_unreachable",
                                         "upstream_tls_failed",
                                         "refused",
                                         "bad_request",
                                         "misdirected_request",
                                         "request_too_large",
                                         "reverified_closed",
                                         "max_connection_age"};
  return kNames[static_cast<std::size_t>(c)];
}

// The keyword written by code that still reports closes as text (http mode, whoami), maybe
// followed by ": <detail>".
constexpr Close close_of_keyword(std::string_view keyword) {
  keyword = keyword.substr(0, keyword.find(':'));
  for (std::uint8_t i = 0; i <= static_cast<std::uint8_t>(Close::max_connection_age); ++i)
    if (close_keyword(static_cast<Close>(i)) == keyword) return static_cast<Close>(i);
  return Close::done;
}

}  // namespace gatehouse::proxy
