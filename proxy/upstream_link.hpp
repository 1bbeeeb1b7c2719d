// One connection to an upstream endpoint, plain or re-encrypted: picks an endpoint from the
// worker's pool, connects, sends the PROXY v2 header when the listener asks for it, then runs
// the upstream TLS handshake when the upstream has `tls`. Offers the same operations as
// tls::Stream, so splice and http mode use it alike.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <system_error>
#include <tuple>

#include "proxy/close_reason.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/splice.hpp"
#include "proxy/worker_context.hpp"
#include "tls/stream.hpp"

namespace gatehouse::proxy {

class UpstreamLink {
 public:
  // `socket` stays the caller's (it lives as long as the connection); the link opens and closes it.
  UpstreamLink(WorkerContext& worker, asio::ip::tcp::socket& socket)
      : worker_(worker), socket_(socket), plain_(socket) {}
  UpstreamLink(const UpstreamLink&) = delete;
  UpstreamLink& operator=(const UpstreamLink&) = delete;
  ~UpstreamLink() { close(); }

  struct Opened {
    bool ok = false;
    std::string endpoint;                       // label of the endpoint used
    Close close = Close::upstream_unreachable;  // on failure: upstream_unreachable or upstream_tls_failed
    std::string detail;                         // on failure, plain words
  };
  // `preface` (a PROXY v2 header, or empty) is written before anything else.
  // `state`: this worker's pool, counters and addresses of `upstream` (outlives the call).
  asio::awaitable<Opened> open(const UpstreamRuntime& upstream, const UpstreamState& state, const std::string& preface);
  bool is_open() const { return endpoint_ >= 0; }
  void close();

  asio::awaitable<std::tuple<std::error_code, size_t>> read_ready(void* data, size_t size);
  asio::awaitable<std::error_code> wait_readable();
  asio::awaitable<std::error_code> write_all(const void* data, size_t size);
  asio::awaitable<std::error_code> close_send();
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  WorkerContext& worker_;
  asio::ip::tcp::socket& socket_;
  PlainStream plain_;
  std::unique_ptr<tls::Stream> tls_;
  PoolState* pool_ = nullptr;  // in the snapshot the connection holds: alive as long as we are
  int endpoint_ = -1;
};

}  // namespace gatehouse::proxy
