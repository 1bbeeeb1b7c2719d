// A wake-up between coroutines of one worker thread: notify() before or during wait() is never
// lost. A timer that never expires, cancelled to wake the waiter.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace gatehouse::proxy::h2 {

class Event {
 public:
  explicit Event(const asio::any_io_executor& ex) : timer_(ex, asio::steady_timer::time_point::max()) {}
  void notify() {
    set_ = true;
    timer_.cancel();
  }
  // Returns when notified (at once if it was since the last wait), or when the wait is cancelled.
  asio::awaitable<void> wait() {
    if (!set_) {
      timer_.expires_at(asio::steady_timer::time_point::max());
      asio::error_code ignored;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    set_ = false;
  }

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

}  // namespace gatehouse::proxy::h2
