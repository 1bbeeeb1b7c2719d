// A timeout expressed as cancellation: when the timer fires it runs `on_expiry` (which cancels
// the sockets involved), and the waiting coroutines see operation_aborted. No polling flags.
#pragma once

#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace gatehouse {

// What a deadline's handler calls: it runs inside io_context::run(), where the throwing
// cancel() would escape the event loop. The error_code overload cannot throw.
template <typename Socket>
void cancel_io(Socket& socket) noexcept {
  asio::error_code ignored;
  socket.cancel(ignored);
}

class Deadline {
 public:
  explicit Deadline(const asio::any_io_executor& ex) : timer_(ex), state_(std::make_shared<State>()) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  ~Deadline() {
    try {
      disarm();
    } catch (...) {  // cancel() throws only if epoll fails; the timer goes away with us anyway
    }
  }

  template <typename Fn>
  void arm(std::chrono::milliseconds after, Fn on_expiry) {
    std::uint64_t generation = ++state_->generation;
    state_->fired = false;
    timer_.expires_after(after);
    // A completion already queued when we disarm or die must not act: the generation says so.
    timer_.async_wait([state = state_, generation, on_expiry](const asio::error_code& ec) {
      if (ec || state->generation != generation) return;
      state->fired = true;
      on_expiry();
    });
  }
  void disarm() {
    ++state_->generation;
    timer_.cancel();
  }
  bool fired() const { return state_->fired; }

 private:
  struct State {
    std::uint64_t generation = 0;
    bool fired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

// Ends an exchange that made no progress for `idle`: the owner calls touch() on every
// progress, and on_idle (which cancels the sockets involved) runs once nothing moved for that long.
class IdleWatch {
 public:
  explicit IdleWatch(const asio::any_io_executor& ex) : deadline_(ex) {}
  template <typename Fn>
  void start(std::chrono::milliseconds idle, Fn on_idle) {
    idle_ = idle;
    touch();
    arm(idle, std::move(on_idle));
  }
  void touch() { last_ = std::chrono::steady_clock::now(); }
  void stop() { deadline_.disarm(); }
  bool fired() const { return fired_; }

 private:
  template <typename Fn>
  void arm(std::chrono::milliseconds after, Fn on_idle) {
    deadline_.arm(after, [this, on_idle] {
      auto idle_for = std::chrono::steady_clock::now() - last_;
      if (idle_for >= idle_) {
        fired_ = true;
        on_idle();
        return;
      }
      arm(std::chrono::duration_cast<std::chrono::milliseconds>(idle_ - idle_for) + std::chrono::milliseconds(1),
          on_idle);
    });
  }
  Deadline deadline_;
  std::chrono::milliseconds idle_{};
  std::chrono::steady_clock::time_point last_{};
  bool fired_ = false;
};

}  // namespace gatehouse
