// One client connection's TLS server side: the stream, and the handshake that returns the one
// Verdict on the client (verification and authorization by the listener's ServerContext, a
// resumed session checked again, a failure given its reason in plain words).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>

#include "tls/server_context.hpp"
#include "tls/stream.hpp"
#include "tls/verdict.hpp"

namespace gatehouse::tls {

class ServerConnection {
 public:
  ServerConnection(const ServerContext& context, asio::ip::tcp::socket& socket);

  // The handshake, ended after `timeout`. Fails closed: only a handshake whose client this
  // handshake verified and authorized (or re-checked, when resumed) is allowed.
  asio::awaitable<Verdict> handshake(std::chrono::milliseconds timeout);
  const SessionFacts& facts() const { return facts_; }  // once handshake() returned
  Stream& stream() { return stream_; }
  // For a reload's re-verification (ServerContext::reverify); opaque to the caller.
  SSL* session() const { return stream_.ssl(); }

 private:
  Verdict decide(const std::error_code& ec, bool timed_out);
  Verdict explain_failure(const std::error_code& ec, bool timed_out) const;

  const ServerContext& context_;
  HandshakeReport report_;
  Stream stream_;
  SessionFacts facts_;
};

}  // namespace gatehouse::tls
