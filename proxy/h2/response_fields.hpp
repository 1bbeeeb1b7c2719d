// The header fields Gatehouse sends on an HTTP/2 stream: an upstream's HTTP/1.1 response made
// into HTTP/2 fields, and our own answers, as a page or, to a gRPC client, as a gRPC status.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/reason.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/refusal_page.hpp"

namespace gatehouse::proxy::h2 {

using Fields = std::vector<http::Header>;

// ":status" first, names lower-cased, and the connection-specific fields of RFC 9113 8.2.2
// (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, and whatever Connection
// names) left out: HTTP/2 forbids them.
Fields response_fields(const http::Head& response);
// Trailer fields: lower-cased; the caller has already filtered them (allowed_trailers).
Fields trailer_fields(const std::vector<http::Header>& trailers);

// A rebuilt request (rewrite.hpp) as HTTP/2 fields for an HTTP/2 upstream: pseudo-headers from the
// method, target and Host (":scheme" https over TLS), names lower-cased, connection-specific fields
// and TE left out, then `te: trailers` when the client asked for trailers (gRPC requires it).
// Takes the head: its strings are moved into the fields, not copied.
Fields upstream_request_fields(http::Head request, bool te_trailers, bool over_tls);

// An HTTP/2 upstream's trailers as the client gets them: never identity or framing fields; for
// gRPC, the rest (grpc-status, grpc-message and the call's trailing metadata); otherwise only the
// listener's allowed_trailers, as from an HTTP/1.1 upstream.
Fields response_trailers(const Fields& trailers, const conf::HttpSettings& http, bool grpc);

// Our own answer: status, content-type, content-length.
Fields answer_fields(const http::Response& response);

// gRPC status codes Gatehouse answers with (grpc/doc/statuscodes.md).
enum class GrpcStatus : int {
  internal = 13,
  unimplemented = 12,
  unavailable = 14,
  permission_denied = 7,
  unauthenticated = 16,
  resource_exhausted = 8,
  unknown = 2,
};
// Which gRPC status a refusal gets: the policy said no (7), the client was not accepted in
// verify = "optional" (16), the upstream is unavailable or the request belongs on another
// connection (14), otherwise gRPC's mapping of the HTTP status.
GrpcStatus grpc_status_of(int http_status, gatehouse::Reason reason, bool refused_client);
// A trailers-only gRPC response (HTTP status 200): the status and the message in plain words.
Fields grpc_refusal_fields(GrpcStatus status, std::string_view message);
// grpc-message's percent-encoding: bytes outside printable ASCII, and '%', as %XX.
std::string grpc_message_encode(std::string_view message);

}  // namespace gatehouse::proxy::h2
