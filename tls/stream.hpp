// TLS on a non-blocking socket: BoringSSL reads and writes the fd through a read-ahead socket
// BIO (tls/socket_bio.hpp), and when it wants I/O we wait for readiness with Asio. No BIO
// pairs, no staging copies of written data. Only one coroutine reads and one writes at a time.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>

#include "tls/bssl.hpp"

namespace gatehouse::tls {

class Stream {
 public:
  // Never throws: a socket that cannot be made non-blocking (or no `ssl`) makes every
  // operation return that error instead.
  Stream(asio::ip::tcp::socket& socket, bssl::UniquePtr<SSL> ssl);

  // Errors: asio::error::eof for a closed peer, std::errc::protocol_error for a TLS failure
  // (see last_error()), the socket's error otherwise (operation_aborted when cancelled).
  asio::awaitable<std::error_code> handshake();
  // Reads what is already there, up to `size` (records already received are gathered into one
  // call), without waiting for more: asio::error::would_block when there is nothing yet. Then
  // wait_readable() returns when there may be; a caller holds no buffer while it waits.
  asio::awaitable<std::tuple<std::error_code, size_t>> read_ready(void* data, size_t size);
  asio::awaitable<std::error_code> wait_readable();
  // read_ready, waiting while there is nothing to read.
  asio::awaitable<std::tuple<std::error_code, size_t>> read_some(void* data, size_t size);
  asio::awaitable<std::error_code> write_all(const void* data, size_t size);
  // Sends close_notify: our half of the connection is done; reading may continue.
  asio::awaitable<std::error_code> close_send();

  SSL* ssl() const { return ssl_.get(); }
  asio::ip::tcp::socket& socket() { return socket_; }
  const std::string& last_error() const { return last_error_; }
  // The first BoringSSL error code of the last TLS failure (0 if none), e.g. to tell a client
  // that sent no certificate from one that sent garbage.
  uint32_t last_error_code() const { return last_error_code_; }

 private:
  // Maps an SSL_* return value: nullopt means "waited, try again".
  asio::awaitable<std::optional<std::error_code>> settle(int ret);

  asio::ip::tcp::socket& socket_;
  bssl::UniquePtr<SSL> ssl_;
  std::error_code broken_;  // set up failed (see the constructor): every operation returns it
  std::string last_error_;
  uint32_t last_error_code_ = 0;
};

}  // namespace gatehouse::tls
