// http mode (`mode = "http"`): after the handshake, the client's requests are read one by one
// (keep-alive and pipelining), checked (Host against the route the SNI chose, verify =
// "optional" refusals), rewritten with identity headers and forwarded over one upstream
// connection kept for the client's connection. Bodies (fixed-length or chunked), 100-continue
// and Upgrade (WebSocket, then a byte tunnel) are passed through. One access-log line a request.
//
// The pieces: request_reader.hpp reads a head, request_checks.hpp decides (pure), exchange.hpp
// carries one request to its end, request_loop.hpp strings them together, whoami_answer.hpp is
// the built-in whoami. They are templates on the streams, so tests drive them in memory
// (tests/support/test_stream.hpp); this file gives them the real ones.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <optional>
#include <string>

#include "proxy/access_log.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/connection_group.hpp"
#include "proxy/http/identity_headers.hpp"
#include "proxy/http/refusal_page.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker_context.hpp"
#include "tls/stream.hpp"

namespace gatehouse::proxy::http {

struct HttpConnection {
  WorkerContext& worker;
  const ListenerRuntime& listener;
  tls::Stream& client;
  asio::ip::tcp::socket& upstream_socket;
  ConnectionMember& member;            // idle between requests, so a drain ends it at once
  const ConnectionRecord& connection;  // the connection's facts, copied into each request's line
  int route = -1;                      // the route the SNI chose
  std::optional<Refusal> refusal;      // verify = "optional" and the client was not accepted
  ForwardFacts facts;
  std::string proxy_preface;             // PROXY v2 header for each upstream connection, or empty
  const SnapshotState* state = nullptr;  // the worker's pools and counters for this snapshot
  std::uint64_t generation = 0;          // the snapshot's: HTTP/2 upstream connections are per generation
  int requests_logged = 0;               // out: access-log lines written
  std::string close_detail;              // out: what ended the connection, in plain words (HTTP/2)
  // For the route's path/method rules: the page a refused request gets (set by serve_http).
  Refusal denied;
};

// Serves requests until either side closes; returns why the connection ended.
asio::awaitable<Close> serve_http(HttpConnection& connection);

}  // namespace gatehouse::proxy::http
