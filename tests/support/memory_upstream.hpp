// An upstream in memory for http mode's exchanges (proxy/http/exchange.hpp): each open() is a
// new TestStream connection whose far end a test coroutine serves. The near ends count against
// the test's FailCount, and so does each open() (a refused connection).
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conf/settings.hpp"
#include "metrics/worker_counters.hpp"
#include "proxy/splice.hpp"
#include "proxy/upstream_link.hpp"
#include "tests/support/test_stream.hpp"

namespace gatehouse::test {

class MemoryUpstream {
 public:
  struct Connection {
    std::unique_ptr<TestStream> near, far;  // near: the proxy's end
    std::string received;                   // what the far end read
    int complete_requests = 0;              // whole requests the far end parsed
    bool mid_request = false;               // the far end holds part of a request
    std::string parse_error;                // what the far end could not parse
  };
  using Serve = std::function<asio::awaitable<void>(std::shared_ptr<Connection>)>;

  MemoryUpstream(asio::any_io_executor ex, FailCount* fails, Serve serve)
      : ex_(std::move(ex)), fails_(fails), serve_(std::move(serve)) {}

  bool is_open() const { return open_ != nullptr; }
  bool stale() const { return open_->near->readable_now(); }
  void close() {
    if (open_) open_->near->close();
    open_ = nullptr;
  }
  asio::awaitable<proxy::UpstreamLink::Opened> open() {
    std::error_code ec;
    if (fails_ && fails_->fail(ec))
      co_return proxy::UpstreamLink::Opened{false, "", proxy::Close::upstream_unreachable, ec.message()};
    auto c = std::make_shared<Connection>();
    std::tie(c->near, c->far) = TestStream::pair(ex_, fails_);
    connections_.push_back(c);
    open_ = c.get();
    asio::co_spawn(ex_, serve_(c), asio::detached);
    co_return proxy::UpstreamLink::Opened{true, "memory:" + std::to_string(connections_.size()), proxy::Close::done,
                                          ""};
  }
  TestStream& stream() { return *open_->near; }
  const std::vector<std::shared_ptr<Connection>>& connections() const { return connections_; }

  // Bytes both ways, as proxy/splice.cpp does for the real streams (without its buffer pool).
  template <typename Client>
  asio::awaitable<proxy::SpliceResult> tunnel(Client& client, conf::Duration, metrics::ListenerCounters&) {
    using namespace asio::experimental::awaitable_operators;
    proxy::SpliceResult r;
    co_await (copy(client, stream(), r.client_to_upstream, proxy::Close::client_error, r) &&
              copy(stream(), client, r.upstream_to_client, proxy::Close::upstream_error, r));
    co_return r;
  }

 private:
  template <typename From, typename To>
  asio::awaitable<void> copy(From& from, To& to, std::uint64_t& total, proxy::Close side, proxy::SpliceResult& r) {
    char buf[4096];
    for (;;) {
      // The other direction may have failed before this one first waited: its cancel missed us.
      if (r.close != proxy::Close::done) co_return;
      auto [ec, n] = co_await from.read_ready(buf, sizeof buf);
      if (ec == asio::error::would_block && r.close == proxy::Close::done && !(ec = co_await from.wait_readable()))
        continue;
      if (ec == asio::error::would_block) co_return;
      const bool eof = ec == asio::error::eof;
      if (eof)
        ec = co_await to.close_send();  // a half-close that fails ends both ways too
      else if (!ec)
        ec = co_await to.write_all(buf, n);
      if (eof && !ec) co_return;
      if (ec) {
        if (r.close == proxy::Close::done) {
          r.close = side;
          r.detail = ec.message();
        }
        asio::error_code ignored;
        from.socket().cancel(ignored);
        to.socket().cancel(ignored);
        co_return;
      }
      total += n;
    }
  }

  asio::any_io_executor ex_;
  FailCount* fails_;
  Serve serve_;
  std::vector<std::shared_ptr<Connection>> connections_;
  Connection* open_ = nullptr;
};

}  // namespace gatehouse::test
