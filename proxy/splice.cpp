#include "proxy/splice.hpp"

#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <optional>
#include <tuple>

#include "common/deadline.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/upstream_link.hpp"

namespace gatehouse::proxy {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

template <typename Upstream>
struct Shared {
  tls::Stream& client;
  Upstream& upstream;
  metrics::ListenerCounters& counters;
  SpliceResult result;
  IdleWatch& idle;
  std::optional<Close> ended;  // the first hard error's, or the idle timeout's

  // A hard error on either side ends both directions (a cancellation only stops waits: nullopt).
  void fail(std::optional<Close> why, const std::error_code& ec = {}) {
    if (!ended && why) {
      ended = why;
      if (ec) result.detail = ec.message();
    }
    asio::error_code ignored;
    client.socket().cancel(ignored);
    upstream.socket().cancel(ignored);
  }
};

// One direction: borrow a buffer, read what is there (up to 64 KiB), write it on, give the
// buffer back; wait for more holding none.
template <typename From, typename To, typename Shared>
asio::awaitable<void> forward(From& from, To& to, Shared& s, Close from_error, Close to_error, std::uint64_t& total,
                              metrics::Counter& counter) {
  // The other direction's failure cancels what we wait for; if we were not waiting at that
  // moment, we must not start to (we would sit there until idle_timeout).
  while (!s.ended) {
    std::optional<PooledBuffer> buf(std::in_place);
    auto [ec, n] = co_await from.read_ready(buf->data(), buf->size());
    if (ec == asio::error::would_block) {
      buf.reset();  // nothing to read: hold no buffer while waiting
      if (s.ended) co_return;
      if (!(ec = co_await from.wait_readable())) continue;
    }
    if (ec == asio::error::eof) {
      co_await to.close_send();  // forward the half-close (close_notify towards a TLS side)
      co_return;
    }
    if (ec) {
      s.fail(ec == asio::error::operation_aborted ? std::nullopt : std::optional(from_error), ec);
      co_return;
    }
    s.idle.touch();
    if (auto wec = co_await to.write_all(buf->data(), n)) {
      s.fail(wec == asio::error::operation_aborted ? std::nullopt : std::optional(to_error), wec);
      co_return;
    }
    total += n;
    counter.add(n);
  }
}

}  // namespace

asio::awaitable<std::tuple<std::error_code, size_t>> PlainStream::read_ready(void* data, size_t size) {
  ssize_t n = ::recv(socket_.native_handle(), data, size, MSG_DONTWAIT);
  if (n > 0) co_return std::tuple{std::error_code{}, static_cast<size_t>(n)};
  if (n == 0) co_return std::tuple{std::error_code(asio::error::eof), size_t{0}};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    co_return std::tuple{std::error_code(asio::error::would_block), size_t{0}};
  co_return std::tuple{std::error_code(errno, asio::error::get_system_category()), size_t{0}};
}

asio::awaitable<std::error_code> PlainStream::wait_readable() {
  auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
  co_return ec;
}

asio::awaitable<std::error_code> PlainStream::write_all(const void* data, size_t size) {
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data, size), use_tuple);
  co_return ec;
}

asio::awaitable<std::error_code> PlainStream::close_send() {
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  co_return ec;
}

template <typename Upstream>
asio::awaitable<SpliceResult> splice(tls::Stream& client, Upstream& upstream, conf::Duration idle_timeout,
                                     metrics::ListenerCounters& counters, const bool& terminating) {
  IdleWatch idle(upstream.socket().get_executor());
  Shared<Upstream> s{client, upstream, counters, {}, idle};
  idle.start(idle_timeout, [&s] { s.fail(Close::idle_timeout); });
  co_await (forward(client, upstream, s, Close::client_error, Close::upstream_error, s.result.client_to_upstream,
                    counters.bytes_client_to_upstream) &&
            forward(upstream, client, s, Close::upstream_error, Close::client_error, s.result.upstream_to_client,
                    counters.bytes_upstream_to_client));
  idle.stop();
  s.result.close = s.ended ? *s.ended : terminating ? Close::terminated : Close::done;
  co_return std::move(s.result);
}

template asio::awaitable<SpliceResult> splice<UpstreamLink>(tls::Stream&, UpstreamLink&, conf::Duration,
                                                            metrics::ListenerCounters&, const bool&);

}  // namespace gatehouse::proxy
