// gatehouse-bench's HTTP/2 load (--mode h2 and --mode grpc): one nghttp2 client session per TLS
// connection (ALPN h2), `streams` requests in flight on it at once, a new one opened as each ends,
// for `requests_per_connection` requests (0: for as long as the load runs). Each stream is one
// operation: a GET of the path answered 2xx, or a unary gRPC call (POST, application/grpc,
// te: trailers, an empty 5-byte framed message) answered 200 with grpc-status 0. Anything else is
// an error by kind: "status: 503", "grpc-status: 7", "rst_stream: REFUSED_STREAM",
// "goaway: NO_ERROR", "connection: ...".
//
// With -n N every thread together sends exactly N requests (LoadControl::claimed), so what the
// bench reports (operations plus the streams' errors) is what the server saw; the load ends once
// each of them ended.
#pragma once

#include <asio/awaitable.hpp>

#include "bench/load.hpp"
#include "common/deadline.hpp"
#include "tls/stream.hpp"

namespace gatehouse::bench {

// ALPN "h2" only, on every connection of this context: HTTP/2 or an error, never HTTP/1.1.
bool offer_h2(SSL_CTX* ctx);

// The mode's work on an established TLS connection. False when the connection failed (the
// streams still open are counted as errors of that kind).
asio::awaitable<bool> run_h2_connection(tls::Stream& stream, Deadline& deadline, const LoadOptions& options,
                                        LoadControl& control, LoadStats& stats);

}  // namespace gatehouse::bench
