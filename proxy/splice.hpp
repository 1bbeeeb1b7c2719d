// Copies bytes both ways between the client's TLS stream and the upstream with one bounded
// buffer per direction, forwards each half-close, and ends on idle_timeout or when the calling
// coroutine is cancelled (its connection's group member: proxy/connection_group.hpp). The
// upstream is a plain socket or, for re-encryption, a TLS stream: both offer the same four
// operations. The definition is in splice_impl.hpp, for tests that drive it over in-memory
// streams (tests/unit/splice_faults_test.cpp).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <tuple>

#include "conf/settings.hpp"
#include "metrics/worker_counters.hpp"
#include "proxy/close_reason.hpp"
#include "tls/stream.hpp"

namespace gatehouse::proxy {

// A plain TCP upstream with tls::Stream's interface.
class PlainStream {
 public:
  explicit PlainStream(asio::ip::tcp::socket& socket) : socket_(socket) {}
  // As tls::Stream: read_ready never waits (would_block), wait_readable follows a would_block.
  asio::awaitable<std::tuple<std::error_code, size_t>> read_ready(void* data, size_t size);
  asio::awaitable<std::error_code> wait_readable();
  asio::awaitable<std::error_code> write_all(const void* data, size_t size);
  asio::awaitable<std::error_code> close_send();  // shutdown(SHUT_WR)
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::ip::tcp::socket& socket_;
  // The last recv() returned less than asked (the socket was empty): the next read_ready says
  // would_block without a syscall; wait_readable's epoll_ctl looks at the socket itself.
  bool drained_ = false;
};

struct SpliceResult {
  std::uint64_t client_to_upstream = 0;
  std::uint64_t upstream_to_client = 0;
  // done, idle_timeout, client_error, upstream_error, or terminated: the calling coroutine was
  // cancelled (the connection's member records by whom and why).
  Close close = Close::done;
  std::string detail;  // the error, in plain words
};

// Instantiated in splice.cpp for tls::Stream and UpstreamLink.
template <typename Client, typename Upstream>
asio::awaitable<SpliceResult> splice(Client& client, Upstream& upstream, conf::Duration idle_timeout,
                                     metrics::ListenerCounters& counters);

}  // namespace gatehouse::proxy
