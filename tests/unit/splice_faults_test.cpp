// splice (proxy/splice_impl.hpp) driven over in-memory streams that fail at the Nth operation
// (tests/support/test_stream.hpp), for N = 1, 2, 3, ... until a run completes: each read, wait,
// write and half-close on either side failing, sticky and once. Each run must end by itself (no
// hang: it has seconds, while idle_timeout is a minute), with the typed close of the side that
// failed; and a splice whose coroutine is cancelled (a drain deadline, a reload's verdict) ends
// at once as `terminated`, over real loopback sockets.
#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <iostream>
#include <limits>
#include <string>

#include "proxy/splice_impl.hpp"
#include "tests/support/loopback.hpp"
#include "tests/support/test_stream.hpp"

namespace gatehouse::test {
namespace {

using proxy::Close;
using proxy::SpliceResult;

constexpr int kClientSide = 1;
constexpr int kUpstreamSide = 2;
const std::string kRequest = "the client's bytes, sent a few at a time, then its half-close";

// The upstream's far end: echoes what it reads, then half-closes after the proxy's half-close.
asio::awaitable<void> echo(TestStream& far) {
  char buf[64];
  for (;;) {
    auto [ec, n] = co_await far.read_ready(buf, sizeof buf);
    if (ec == asio::error::would_block) {
      if (co_await far.wait_readable()) co_return;
      continue;
    }
    if (ec == asio::error::eof) {
      co_await far.close_send();
      co_return;
    }
    if (ec) co_return;
    co_await far.write_all(buf, n);
  }
}

struct Outcome {
  bool finished = false;
  SpliceResult result;
  std::size_t operations = 0;
  bool failed = false;
  int failed_side = 0;
  bool left_waiting = false;  // a wait was still pending on either near end when splice returned
  std::string to_client;
  bool client_got_eof = false;
};

Outcome drive(std::size_t fail_at, FailCount::Mode mode) {
  asio::io_context io;
  FailCount fails(fail_at, mode);
  auto client = TestStream::pair(io.get_executor(), &fails);
  auto upstream = TestStream::pair(io.get_executor(), &fails);
  client.first->set_side(kClientSide);
  client.first->set_read_size(5);
  upstream.first->set_side(kUpstreamSide);
  upstream.first->set_read_size(7);
  metrics::ListenerCounters counters;
  Outcome run;
  client.second->put(kRequest, true);
  asio::co_spawn(io, echo(*upstream.second), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        run.result = co_await proxy::splice(*client.first, *upstream.first, std::chrono::seconds(60), counters);
        run.finished = true;
        run.left_waiting = client.first->waiting() || upstream.first->waiting();
        client.first->close();  // as the connection's sockets close when its frame goes
        upstream.first->close();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(5));
  run.operations = fails.operations();
  run.failed = fails.failed();
  run.failed_side = fails.failed_side();
  run.to_client = client.second->take();
  run.client_got_eof = client.second->peer_sent_eof();
  return run;
}

TEST(SpliceFaults, EveryFailurePointEndsWithTheFailingSidesClose) {
  const Outcome clean = drive(std::numeric_limits<std::size_t>::max(), FailCount::Mode::sticky);
  ASSERT_TRUE(clean.finished) << "the faultless run did not end";
  EXPECT_EQ(clean.result.close, Close::done);
  EXPECT_EQ(clean.to_client, kRequest);
  EXPECT_TRUE(clean.client_got_eof);
  EXPECT_EQ(clean.result.client_to_upstream, kRequest.size());
  EXPECT_EQ(clean.result.upstream_to_client, kRequest.size());

  for (auto mode : {FailCount::Mode::sticky, FailCount::Mode::once}) {
    const char* mode_name = mode == FailCount::Mode::sticky ? "sticky" : "once";
    bool client_failed = false, upstream_failed = false;
    std::size_t n = 1;
    for (; n < 10000; ++n) {
      SCOPED_TRACE(std::string(mode_name) + ": failing at operation " + std::to_string(n));
      const Outcome r = drive(n, mode);
      ASSERT_TRUE(r.finished) << "hung (or waited for idle_timeout)";
      EXPECT_FALSE(r.left_waiting);
      if (!r.failed) {  // the Nth operation was never reached: every failure point was covered
        EXPECT_EQ(r.result.close, Close::done);
        break;
      }
      const Close expected = r.failed_side == kClientSide ? Close::client_error : Close::upstream_error;
      EXPECT_EQ(r.result.close, expected) << proxy::close_keyword(r.result.close);
      EXPECT_FALSE(r.result.detail.empty());
      EXPECT_LE(r.result.client_to_upstream, clean.result.client_to_upstream);
      EXPECT_TRUE(kRequest.starts_with(r.to_client)) << r.to_client;
      client_failed |= r.failed_side == kClientSide;
      upstream_failed |= r.failed_side == kUpstreamSide;
    }
    EXPECT_GT(n, 10u);
    EXPECT_LT(n, 10000u);
    EXPECT_TRUE(client_failed);
    EXPECT_TRUE(upstream_failed);
    std::cout << "[   INFO   ] splice (" << mode_name << "): " << n - 1 << " failure points, " << clean.operations
              << " operations in the faultless run\n";
  }
}

TEST(SpliceFaults, CancellingTheCallerEndsBothDirectionsAsTerminated) {
  asio::io_context io;
  Loopback client(io), upstream(io);
  proxy::PlainStream client_stream(client.near), upstream_stream(upstream.near);
  metrics::ListenerCounters counters;
  asio::cancellation_signal cancel;
  std::optional<SpliceResult> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await asio::this_coro::throw_if_cancelled(false);
        result = co_await proxy::splice(client_stream, upstream_stream, std::chrono::seconds(60), counters);
      },
      asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  // One byte through, so both directions are known to be waiting in a read.
  client.far.write_some(asio::buffer("x", 1));
  char byte = 0;
  io.run_for(std::chrono::milliseconds(100));
  ASSERT_EQ(upstream.far.read_some(asio::buffer(&byte, 1)), 1u);
  EXPECT_FALSE(result);
  const auto started = std::chrono::steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  io.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(result) << "the cancellation did not reach splice's reads";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  EXPECT_EQ(result->close, Close::terminated);
  EXPECT_EQ(result->client_to_upstream, 1u);
}

// After a short read PlainStream says would_block without a recv(); bytes that arrived before
// the wait began must still wake it (Asio's wait re-arms the edge-triggered descriptor).
TEST(PlainStream, BytesThatCameAfterAShortReadWakeTheWaitThatFollows) {
  asio::io_context io;
  Loopback link(io);
  proxy::PlainStream stream(link.near);
  std::string got, trace;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        char buf[64];
        auto [ec, n] = co_await stream.read_ready(buf, sizeof buf);
        got.append(buf, ec ? 0 : n);
        link.far.write_some(asio::buffer(std::string_view("second")));
        auto [again, none] = co_await stream.read_ready(buf, sizeof buf);
        trace += again == asio::error::would_block ? "would_block," : "read,";
        if (auto wait = co_await stream.wait_readable()) co_return;
        auto [last, m] = co_await stream.read_ready(buf, sizeof buf);
        got.append(buf, last ? 0 : m);
      },
      asio::detached);
  link.far.write_some(asio::buffer(std::string_view("first,")));
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(trace, "would_block,");
  EXPECT_EQ(got, "first,second");
}

}  // namespace
}  // namespace gatehouse::test
