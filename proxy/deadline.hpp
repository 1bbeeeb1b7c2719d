// A timeout expressed as cancellation: when the timer fires it runs `on_expiry` (which cancels
// the sockets involved), and the waiting coroutines see operation_aborted. No polling flags.
#pragma once

#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>

#include "conf/settings.hpp"

namespace gatehouse::proxy {

class Deadline {
 public:
  explicit Deadline(const asio::any_io_executor& ex) : timer_(ex), state_(std::make_shared<State>()) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  ~Deadline() { disarm(); }

  template <typename Fn>
  void arm(conf::Duration after, Fn on_expiry) {
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

}  // namespace gatehouse::proxy
