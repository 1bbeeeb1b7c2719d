#include "proxy/splice.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>

#include "proxy/deadline.hpp"
#include "proxy/upstream_link.hpp"

namespace gatehouse::proxy {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kBufferSize = 16 * 1024;  // one TLS record

template <typename Upstream>
struct Shared {
  tls::Stream& client;
  Upstream& upstream;
  metrics::ListenerCounters& counters;
  SpliceResult result;
  IdleWatch& idle;

  // A hard error on either side ends both directions.
  void fail(std::string why) {
    if (result.close.empty()) result.close = std::move(why);
    asio::error_code ignored;
    client.socket().cancel(ignored);
    upstream.socket().cancel(ignored);
  }
};

template <typename Upstream>
asio::awaitable<void> client_to_upstream(Shared<Upstream>& s) {
  std::array<uint8_t, kBufferSize> buf;
  for (;;) {
    auto [ec, n] = co_await s.client.read_some(buf.data(), buf.size());
    if (ec == asio::error::eof) {
      co_await s.upstream.close_send();  // forward the half-close
      co_return;
    }
    if (ec) {
      s.fail(ec == asio::error::operation_aborted ? "" : "client_error: " + ec.message());
      co_return;
    }
    s.idle.touch();
    if (auto wec = co_await s.upstream.write_all(buf.data(), n)) {
      s.fail(wec == asio::error::operation_aborted ? "" : "upstream_error: " + wec.message());
      co_return;
    }
    s.result.client_to_upstream += n;
    s.counters.bytes_client_to_upstream.add(n);
  }
}

template <typename Upstream>
asio::awaitable<void> upstream_to_client(Shared<Upstream>& s) {
  std::array<uint8_t, kBufferSize> buf;
  for (;;) {
    auto [ec, n] = co_await s.upstream.read_some(buf.data(), buf.size());
    if (ec == asio::error::eof) {
      co_await s.client.close_send();  // close_notify: the TLS way to half-close
      co_return;
    }
    if (ec) {
      s.fail(ec == asio::error::operation_aborted ? "" : "upstream_error: " + ec.message());
      co_return;
    }
    s.idle.touch();
    if (auto wec = co_await s.client.write_all(buf.data(), n)) {
      s.fail(wec == asio::error::operation_aborted ? "" : "client_error: " + wec.message());
      co_return;
    }
    s.result.upstream_to_client += n;
    s.counters.bytes_upstream_to_client.add(n);
  }
}

}  // namespace

asio::awaitable<std::tuple<std::error_code, size_t>> PlainStream::read_some(void* data, size_t size) {
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(data, size), use_tuple);
  co_return std::tuple{std::error_code(ec), n};
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
  idle.start(idle_timeout, [&s] { s.fail("idle_timeout"); });
  co_await (client_to_upstream(s) && upstream_to_client(s));
  idle.stop();
  if (s.result.close.empty()) s.result.close = terminating ? "terminated" : "done";
  co_return std::move(s.result);
}

template asio::awaitable<SpliceResult> splice<UpstreamLink>(tls::Stream&, UpstreamLink&, conf::Duration,
                                                            metrics::ListenerCounters&, const bool&);

}  // namespace gatehouse::proxy
