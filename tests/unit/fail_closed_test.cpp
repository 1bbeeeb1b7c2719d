// Issue 17, "fail closed everywhere": a BoringSSL or Asio call that fails must refuse, never be
// skipped. A stream whose socket cannot be set up fails its first operation instead of throwing;
// an exception from a handler does not end the process.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <optional>
#include <stdexcept>

#include "proxy/event_loop.hpp"
#include "tls/stream.hpp"

namespace gatehouse::test {
namespace {

TEST(StreamSetUp, ASocketThatCannotBeMadeNonBlockingFailsTheHandshakeNotTheProcess) {
  asio::io_context io;
  asio::ip::tcp::socket never_opened(io);  // non_blocking(true) fails: bad descriptor
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  std::optional<tls::Stream> stream;
  ASSERT_NO_THROW(stream.emplace(never_opened, bssl::UniquePtr<SSL>(SSL_new(ctx.get()))));
  std::error_code handshake, write;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    handshake = co_await stream->handshake();
    write = co_await stream->write_all("x", 1);
  }, asio::detached);
  io.run();
  EXPECT_EQ(handshake, asio::error::bad_descriptor) << handshake.message();
  EXPECT_EQ(write, handshake);
  EXPECT_NE(stream->last_error().find("non-blocking"), std::string::npos) << stream->last_error();
}

TEST(EventLoop, AHandlerThatThrowsIsLoggedAndTheLoopRunsOn) {
  asio::io_context io;
  bool later_ran = false;
  asio::post(io, [] { throw std::runtime_error("a handler's bug"); });
  asio::post(io, [&] { later_ran = true; });
  std::atomic<std::uint64_t> escaped{0};
  proxy::run_event_loop(io, "test", &escaped);  // would be std::terminate on a bare thread
  EXPECT_TRUE(later_ran);
  EXPECT_EQ(escaped.load(), 1u);
}

}  // namespace
}  // namespace gatehouse::test
