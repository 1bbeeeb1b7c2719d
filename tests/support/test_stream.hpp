// An in-memory duplex stream with tls::Stream's operations, for driving http mode's reader and
// exchanges without sockets, and a FailCount that makes the Nth operation fail (Boost.Beast's
// test::stream and test::fail_count): a test runs an exchange with N = 1, 2, 3, ... until it
// completes, and so goes through every failure point. Sticky (Beast's way): once the Nth
// operation failed every later one fails too, as on a connection that was reset. Once: only the
// Nth fails and the rest carry on, so a failure whose cancellation misses a waiting operation
// shows as a hang instead of being hidden by the failures that follow. tests/unit/
// http_exchange_faults_test.cpp drives http mode's exchanges with it, splice_faults_test.cpp splice.
#pragma once

#include <algorithm>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

namespace gatehouse::test {

class FailCount {
 public:
  enum class Mode { sticky, once };
  explicit FailCount(std::size_t n = std::numeric_limits<std::size_t>::max(), Mode mode = Mode::sticky)
      : n_(n), mode_(mode) {}
  // True (with `ec` set) for the Nth operation, and with Mode::sticky for every later one.
  // `side` names the stream that asked (TestStream::set_side), for failed_side().
  bool fail(std::error_code& ec, int side = 0) {
    ++i_;
    if (i_ < n_ || (i_ > n_ && mode_ == Mode::once)) return false;
    if (i_ == n_) failed_side_ = side;
    ec = asio::error::connection_reset;
    return true;
  }
  std::size_t operations() const { return i_; }
  bool failed() const { return i_ >= n_; }
  int failed_side() const { return failed_side_; }  // of the Nth operation

 private:
  std::size_t n_;
  Mode mode_;
  std::size_t i_ = 0;
  int failed_side_ = 0;
};

// One direction of a connection: what was written and not read yet, and the reader waiting.
struct Pipe {
  std::string data;
  bool closed = false;  // the writer sent its half-close (or the connection closed)
  asio::steady_timer* waiter = nullptr;
  void wake() {
    if (waiter) waiter->cancel();
  }
};

struct PipePair {
  Pipe a_to_b, b_to_a;
};

class TestStream {
 public:
  // What the code under test cancels and takes its executor from, as from a tcp socket.
  class Socket {
   public:
    explicit Socket(TestStream& s) : s_(s) {}
    asio::any_io_executor get_executor() const { return s_.ex_; }
    void cancel(asio::error_code&) { s_.cancel(); }
    void cancel() { s_.cancel(); }

   private:
    TestStream& s_;
  };

  // Two ends of one connection; operations on `a` count against `fails` (null: never fail).
  static std::pair<std::unique_ptr<TestStream>, std::unique_ptr<TestStream>> pair(const asio::any_io_executor& ex,
                                                                                  FailCount* fails) {
    auto pipes = std::make_shared<PipePair>();
    return {std::unique_ptr<TestStream>(new TestStream(ex, pipes, pipes->b_to_a, pipes->a_to_b, fails)),
            std::unique_ptr<TestStream>(new TestStream(ex, pipes, pipes->a_to_b, pipes->b_to_a, nullptr))};
  }
  TestStream(const TestStream&) = delete;
  TestStream& operator=(const TestStream&) = delete;
  ~TestStream() {
    in_.waiter = nullptr;
    try {
      close();
    } catch (...) {  // a timer's cancel() throws only if the reactor fails; we are going anyway
    }
  }

  // Reads return at most this much at a time: more operations, more failure points.
  void set_read_size(std::size_t n) { read_size_ = n; }
  // What this end reports to FailCount::fail (which side of a splice failed).
  void set_side(int side) { side_ = side; }
  // A wait_readable is pending on this end.
  bool waiting() const { return in_.waiter != nullptr; }

  asio::awaitable<std::tuple<std::error_code, size_t>> read_ready(void* data, size_t size) {
    std::error_code ec;
    if (fails_ && fails_->fail(ec, side_)) co_return std::tuple{ec, size_t{0}};
    if (in_.data.empty()) {
      std::error_code none = in_.closed ? std::error_code(asio::error::eof) : std::error_code(asio::error::would_block);
      co_return std::tuple{none, size_t{0}};
    }
    size_t n = std::min({size, read_size_, in_.data.size()});
    std::memcpy(data, in_.data.data(), n);
    in_.data.erase(0, n);
    co_return std::tuple{std::error_code{}, n};
  }

  asio::awaitable<std::error_code> wait_readable() {
    std::error_code ec;
    if (fails_ && fails_->fail(ec, side_)) co_return ec;
    if (!in_.data.empty() || in_.closed) co_return std::error_code{};
    asio::steady_timer timer(ex_, asio::steady_timer::time_point::max());
    struct Waiting {  // cleared even when the frame is destroyed while suspended
      Pipe& pipe;
      ~Waiting() { pipe.waiter = nullptr; }
    } waiting{in_};
    in_.waiter = &timer;
    aborted_ = false;
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (aborted_) co_return std::error_code(asio::error::operation_aborted);
    co_return std::error_code{};
  }

  asio::awaitable<std::error_code> write_all(const void* data, size_t size) {
    std::error_code ec;
    if (fails_ && fails_->fail(ec, side_)) co_return ec;
    if (out_.closed) co_return std::error_code(asio::error::broken_pipe);
    out_.data.append(static_cast<const char*>(data), size);
    written_ += size;
    out_.wake();
    co_return std::error_code{};
  }

  asio::awaitable<std::error_code> close_send() {
    std::error_code ec;
    if (fails_ && fails_->fail(ec, side_)) co_return ec;
    out_.closed = true;
    out_.wake();
    co_return std::error_code{};
  }

  Socket& socket() { return socket_; }

  // For the test's own end, outside a coroutine: write `bytes` now, then perhaps the half-close.
  void put(std::string_view bytes, bool then_eof) {
    out_.data.append(bytes);
    out_.closed = out_.closed || then_eof;
    out_.wake();
  }
  // For the test's own end: everything the other end wrote so far.
  std::string take() { return std::exchange(in_.data, {}); }

  // Both directions end: the peer reads what is left, then eof.
  void close() {
    closed_ = true;
    out_.closed = true;
    out_.wake();
  }
  bool closed() const { return closed_; }
  bool sent_eof() const { return out_.closed; }
  std::size_t written() const { return written_; }
  bool peer_sent_eof() const { return in_.closed; }
  // Something to read, or the peer's eof: a kept-alive connection in this state is not reused.
  bool readable_now() const { return !in_.data.empty() || in_.closed; }

 private:
  TestStream(asio::any_io_executor ex, std::shared_ptr<PipePair> pipes, Pipe& in, Pipe& out, FailCount* fails)
      : ex_(std::move(ex)), pipes_(std::move(pipes)), in_(in), out_(out), fails_(fails), socket_(*this) {}

  // A pending wait ends with operation_aborted; later operations run as usual (as on a socket).
  void cancel() {
    if (!in_.waiter) return;
    aborted_ = true;
    in_.wake();
  }

  asio::any_io_executor ex_;
  std::shared_ptr<PipePair> pipes_;
  Pipe& in_;
  Pipe& out_;
  FailCount* fails_;
  Socket socket_;
  std::size_t read_size_ = std::numeric_limits<std::size_t>::max();
  int side_ = 0;
  std::size_t written_ = 0;
  bool aborted_ = false;
  bool closed_ = false;
};

}  // namespace gatehouse::test
