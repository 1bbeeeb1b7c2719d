#include "proxy/splice.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>

#include "proxy/deadline.hpp"

namespace gatehouse::proxy {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kBufferSize = 16 * 1024;  // one TLS record

struct Shared {
  tls::Stream& client;
  asio::ip::tcp::socket& upstream;
  metrics::WorkerCounters& counters;
  SpliceResult result;
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();

  // A hard error on either side ends both directions.
  void fail(std::string why) {
    if (result.close.empty()) result.close = std::move(why);
    asio::error_code ignored;
    client.socket().cancel(ignored);
    upstream.cancel(ignored);
  }
};

asio::awaitable<void> client_to_upstream(Shared& s) {
  std::array<uint8_t, kBufferSize> buf;
  for (;;) {
    auto [ec, n] = co_await s.client.read_some(buf.data(), buf.size());
    if (ec == asio::error::eof) {
      asio::error_code ignored;
      s.upstream.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);  // forward the half-close
      co_return;
    }
    if (ec) {
      s.fail(ec == asio::error::operation_aborted ? "" : "client_error: " + ec.message());
      co_return;
    }
    s.last_activity = std::chrono::steady_clock::now();
    auto [wec, written] = co_await asio::async_write(s.upstream, asio::buffer(buf.data(), n), use_tuple);
    if (wec) {
      s.fail(wec == asio::error::operation_aborted ? "" : "upstream_error: " + wec.message());
      co_return;
    }
    s.result.client_to_upstream += n;
    s.counters.bytes_client_to_upstream.add(n);
  }
}

asio::awaitable<void> upstream_to_client(Shared& s) {
  std::array<uint8_t, kBufferSize> buf;
  for (;;) {
    auto [ec, n] = co_await s.upstream.async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::eof) {
      co_await s.client.close_send();  // close_notify: the TLS way to half-close
      co_return;
    }
    if (ec) {
      s.fail(ec == asio::error::operation_aborted ? "" : "upstream_error: " + ec.message());
      co_return;
    }
    s.last_activity = std::chrono::steady_clock::now();
    if (auto wec = co_await s.client.write_all(buf.data(), n)) {
      s.fail(wec == asio::error::operation_aborted ? "" : "client_error: " + wec.message());
      co_return;
    }
    s.result.upstream_to_client += n;
    s.counters.bytes_upstream_to_client.add(n);
  }
}

// Re-arms itself until nothing moved for idle_timeout, then ends both directions.
void watch_idle(Deadline& deadline, Shared& s, conf::Duration idle_timeout) {
  auto idle_for = std::chrono::steady_clock::now() - s.last_activity;
  if (idle_for >= idle_timeout) {
    s.fail("idle_timeout");
    return;
  }
  auto left = std::chrono::duration_cast<conf::Duration>(idle_timeout - idle_for) + conf::Duration(1);
  deadline.arm(left, [&deadline, &s, idle_timeout] { watch_idle(deadline, s, idle_timeout); });
}

}  // namespace

asio::awaitable<SpliceResult> splice(tls::Stream& client, asio::ip::tcp::socket& upstream, conf::Duration idle_timeout,
                                     metrics::WorkerCounters& counters, const bool& terminating) {
  Shared s{client, upstream, counters, {}};
  Deadline idle(upstream.get_executor());
  watch_idle(idle, s, idle_timeout);
  co_await (client_to_upstream(s) && upstream_to_client(s));
  idle.disarm();
  if (s.result.close.empty()) s.result.close = terminating ? "terminated" : "done";
  co_return std::move(s.result);
}

}  // namespace gatehouse::proxy
