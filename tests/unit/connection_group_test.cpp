// A worker's group of connection tasks (proxy/connection_group.hpp): its wait ends exactly when
// the last member leaves, and a member's cancellation reaches a coroutine blocked in a read on a
// real loopback socket (no socket is polled or kept by the group), gently or not as its phase says.
#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <optional>

#include "proxy/connection_group.hpp"
#include "tests/support/loopback.hpp"

namespace gatehouse::test {
namespace {

using proxy::Close;
using proxy::ConnectionGroup;
using proxy::ConnectionMember;
using proxy::Phase;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// A connection task as Worker::spawn_connection starts one: its member's signal bound to the
// co_spawn, and the member leaving in the completion handler. It reads one byte, in a nested
// awaitable, as a connection waits for its client.
struct Reader {
  Reader(asio::io_context& io, ConnectionGroup& group, Phase phase) : socket(io) {
    ConnectionMember& joined = group.join(0, 1);
    member = &joined;
    joined.set_phase(phase);
    asio::co_spawn(io, run(),
                   asio::bind_cancellation_slot(joined.slot(), [this, &group, &joined](const std::exception_ptr& e) {
                     threw = e != nullptr;
                     ending = joined.ending();
                     group.leave(joined);
                   }));
  }
  asio::awaitable<void> run() {
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    result = co_await read_one();
  }
  asio::awaitable<asio::error_code> read_one() {
    char byte = 0;
    auto [ec, n] = co_await socket.near.async_read_some(asio::buffer(&byte, 1), use_tuple);
    co_return ec;
  }
  Loopback socket;
  ConnectionMember* member = nullptr;  // until it leaves the group
  std::optional<asio::error_code> result;
  std::optional<Close> ending;
  bool threw = false;
};

TEST(ConnectionGroup, WaitEndsExactlyWhenTheLastMemberLeaves) {
  asio::io_context io;
  ConnectionGroup group(io.get_executor());
  ConnectionMember& a = group.join(0, 1);
  ConnectionMember& b = group.join(1, 1);
  std::optional<bool> emptied;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { emptied = co_await group.wait_empty(); }, asio::detached);
  io.poll();
  EXPECT_FALSE(emptied);
  group.leave(a);
  io.poll();
  EXPECT_FALSE(emptied) << "woken while a member is left";
  EXPECT_EQ(group.size(), 1u);
  group.leave(b);
  io.poll();
  ASSERT_TRUE(emptied);
  EXPECT_TRUE(*emptied);
  // An empty group's wait ends at once.
  io.restart();
  std::optional<bool> again;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { again = co_await group.wait_empty(); }, asio::detached);
  io.poll();
  EXPECT_EQ(again, true);
}

TEST(ConnectionGroup, DrainCancelsAnIdleMemberAtOnceAndLetsOneInFlightFinish) {
  asio::io_context io;
  ConnectionGroup group(io.get_executor());
  Reader idle(io, group, Phase::idle);
  Reader busy(io, group, Phase::request);
  Reader tunnel(io, group, Phase::tunnel);
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(idle.result);
  group.drain();
  io.run_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(idle.result) << "the drain's cancellation did not reach the idle member's read";
  EXPECT_EQ(*idle.result, asio::error::operation_aborted);
  EXPECT_EQ(idle.ending, Close::drained);
  EXPECT_FALSE(busy.result) << "a request in flight is not cut by the drain";
  EXPECT_FALSE(tunnel.result) << "a tunnel goes on until the deadline";
  EXPECT_EQ(group.size(), 2u);
  // The one in flight finishes by itself; the deadline cuts the tunnel.
  busy.socket.far.write_some(asio::buffer("x", 1));
  io.run_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(busy.result);
  EXPECT_FALSE(*busy.result) << busy.result->message();
  EXPECT_EQ(group.size(), 1u);
  group.terminate();
  io.run_for(std::chrono::seconds(2));  // returns as soon as nothing is left to run
  EXPECT_EQ(tunnel.result, asio::error::operation_aborted);
  EXPECT_EQ(tunnel.ending, Close::terminated);
  EXPECT_TRUE(group.empty());
  EXPECT_FALSE(idle.threw || busy.threw || tunnel.threw);
}

TEST(ConnectionGroup, TerminateReachesAReadAndTheWaitEndsWithTheLastOne) {
  asio::io_context io;
  ConnectionGroup group(io.get_executor());
  Reader a(io, group, Phase::request);
  Reader b(io, group, Phase::opening);
  std::optional<bool> emptied;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { emptied = co_await group.wait_empty(); }, asio::detached);
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(emptied);
  group.terminate();
  io.run_for(std::chrono::seconds(2));
  EXPECT_EQ(a.result, asio::error::operation_aborted);
  EXPECT_EQ(b.result, asio::error::operation_aborted);
  EXPECT_EQ(a.ending, Close::terminated);
  EXPECT_EQ(emptied, true);
}

TEST(ConnectionGroup, GatehousesOwnEndingWaitsForTheRequestInFlightAndOutranksTheDeadline) {
  asio::io_context io;
  ConnectionGroup group(io.get_executor());
  Reader busy(io, group, Phase::request);
  Reader tunnel(io, group, Phase::tunnel);
  io.run_for(std::chrono::milliseconds(20));
  for (auto& m : group.members())
    m.end(Close::reverified_closed, gatehouse::Reason::revoked, "after a reload: revoked");
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(busy.result) << "a request in flight ends at its end, not now";
  EXPECT_EQ(tunnel.result, asio::error::operation_aborted);
  EXPECT_EQ(tunnel.ending, Close::reverified_closed);
  group.terminate();
  io.run_for(std::chrono::seconds(2));
  EXPECT_EQ(busy.ending, Close::reverified_closed);
  EXPECT_TRUE(group.empty());
}

// HTTP/2 announces an ending at once (GOAWAY) while its streams finish: told, never cancelled.
TEST(ConnectionGroup, AnEndingWhileARequestIsInFlightIsAnnouncedNotCancelled) {
  asio::io_context io;
  ConnectionGroup group(io.get_executor());
  Reader busy(io, group, Phase::request);
  Reader idle(io, group, Phase::idle);
  int busy_told = 0, idle_told = 0;
  busy.member->on_ending_in_flight([&] { ++busy_told; });
  idle.member->on_ending_in_flight([&] { ++idle_told; });
  io.run_for(std::chrono::milliseconds(20));
  group.drain();
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(busy_told, 1);
  EXPECT_FALSE(busy.result) << "a request in flight goes on";
  EXPECT_EQ(idle_told, 0) << "an idle member is cancelled, not told";
  EXPECT_EQ(idle.result, asio::error::operation_aborted);
  busy.member->end(Close::reverified_closed, gatehouse::Reason::revoked, "after a reload: revoked");
  EXPECT_EQ(busy_told, 2) << "a reload's verdict outranks the drain and is told too";
  busy.member->on_ending_in_flight({});
  group.terminate();
  io.run_for(std::chrono::seconds(2));
  EXPECT_EQ(busy_told, 2);
  EXPECT_TRUE(group.empty());
}

}  // namespace
}  // namespace gatehouse::test
