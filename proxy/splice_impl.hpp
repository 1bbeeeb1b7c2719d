// splice's definition (proxy/splice.hpp), templated on both streams: splice.cpp instantiates it
// for the real ones, tests for in-memory streams that fail at the Nth operation.
#pragma once

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <optional>

#include "common/deadline.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/splice.hpp"

namespace gatehouse::proxy {
namespace splice_detail {

inline bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

template <typename Client, typename Upstream>
struct Shared {
  Client& client;
  Upstream& upstream;
  SpliceResult result;
  IdleWatch& idle;
  std::optional<Close> ended;  // the first hard error's, or the idle timeout's
  bool stopped = false;        // the splice ends: neither direction may start another wait

  // A hard error on either side ends both directions; a cancellation (nullopt) only stops them.
  void fail(std::optional<Close> why, const std::error_code& ec = {}) {
    if (!ended && why) {
      ended = why;
      if (ec) result.detail = ec.message();
    }
    stopped = true;
    asio::error_code ignored;
    client.socket().cancel(ignored);
    upstream.socket().cancel(ignored);
  }
};

// One direction: borrow a buffer, read what is there (up to 64 KiB), write it on, give the
// buffer back; wait for more holding none. Runs as its own coroutine (a side of `&&`), so it
// sets its own throw_if_cancelled: an operation after a cancellation returns, never throws.
template <typename From, typename To, typename Shared>
asio::awaitable<void> forward(From& from, To& to, Shared& s, Close from_error, Close to_error, std::uint64_t& total,
                              metrics::Counter& counter) {
  co_await asio::this_coro::throw_if_cancelled(false);
  // The other direction's failure cancels what we wait for; if we were not waiting at that
  // moment (or the cancellation reached us between two operations), we must not start to: we
  // would sit there until idle_timeout.
  while (!s.stopped && !cancelled(co_await asio::this_coro::cancellation_state)) {
    std::optional<PooledBuffer> buf(std::in_place);
    auto [ec, n] = co_await from.read_ready(buf->data(), buf->size());
    if (ec == asio::error::would_block) {
      buf.reset();  // nothing to read: hold no buffer while waiting
      if (s.stopped) co_return;
      if (!(ec = co_await from.wait_readable())) continue;
    }
    if (ec == asio::error::eof) {
      // Forward the half-close (close_notify towards a TLS side). If that fails, the other side
      // would wait for an end that never comes: it ends both ways.
      if (auto cec = co_await to.close_send())
        s.fail(cec == asio::error::operation_aborted ? std::nullopt : std::optional(to_error), cec);
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

}  // namespace splice_detail

template <typename Client, typename Upstream>
asio::awaitable<SpliceResult> splice(Client& client, Upstream& upstream, conf::Duration idle_timeout,
                                     metrics::ListenerCounters& counters) {
  using namespace asio::experimental::awaitable_operators;
  using splice_detail::cancelled;
  // A cancellation that came while the caller was not waiting is only recorded in its state:
  // both directions start as fresh coroutines and would not see it.
  if (cancelled(co_await asio::this_coro::cancellation_state)) co_return SpliceResult{.close = Close::terminated};
  IdleWatch idle(upstream.socket().get_executor());
  splice_detail::Shared<Client, Upstream> s{client, upstream, {}, idle};
  idle.start(idle_timeout, [&s] { s.fail(Close::idle_timeout); });
  co_await (splice_detail::forward(client, upstream, s, Close::client_error, Close::upstream_error,
                                   s.result.client_to_upstream, counters.bytes_client_to_upstream) &&
            splice_detail::forward(upstream, client, s, Close::upstream_error, Close::client_error,
                                   s.result.upstream_to_client, counters.bytes_upstream_to_client));
  idle.stop();
  const bool cut = cancelled(co_await asio::this_coro::cancellation_state);
  s.result.close = s.ended ? *s.ended : cut ? Close::terminated : Close::done;
  co_return std::move(s.result);
}

}  // namespace gatehouse::proxy
