#include "proxy/connection_group.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <iterator>

namespace gatehouse::proxy {

void ConnectionMember::enter_tunnel() {
  phase_ = Phase::tunnel;
  // An ending that waited for the request's end cannot wait for a boundary any more. Emitted
  // while the coroutine runs, it is recorded in its cancellation state, which splice checks.
  if (ending_ && ending_ != Close::drained) cancel_now();
}

void ConnectionMember::end(Close why, gatehouse::Reason reason, std::string detail) {
  if (ended_by_gatehouse()) return;
  ending_ = why;
  ending_reason_ = reason;
  ending_detail_ = std::move(detail);
  if (phase_ != Phase::request) cancel_now();
  else if (announce_) announce_();
}

void ConnectionMember::drain() {
  if (ending_) return;  // already ending, for a stronger reason
  ending_ = Close::drained;
  if (phase_ == Phase::idle) cancel_now();
  else if (phase_ == Phase::request && announce_) announce_();
}

void ConnectionMember::terminate() {
  if (!ended_by_gatehouse()) ending_ = Close::terminated;
  cancel_now();
}

ConnectionGroup::ConnectionGroup(const asio::any_io_executor& ex)
    : emptied_(ex, asio::steady_timer::time_point::max()) {}

ConnectionMember& ConnectionGroup::join(std::size_t listener, std::uint64_t generation) {
  ConnectionMember& member = members_.emplace_back(listener, generation);
  member.position_ = std::prev(members_.end());
  return member;
}

void ConnectionGroup::leave(ConnectionMember& member) {
  members_.erase(member.position_);
  if (members_.empty()) emptied_.cancel();
}

void ConnectionGroup::drain() {
  // Emitting only posts the aborted operations' completions: no member leaves during the loop.
  for (auto& m : members_) m.drain();
}

void ConnectionGroup::terminate() {
  for (auto& m : members_) m.terminate();
}

asio::awaitable<bool> ConnectionGroup::wait_empty() {
  constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
  for (;;) {
    if (members_.empty()) co_return true;
    // Checked before each wait: awaiting after our own cancellation would throw.
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) co_return false;
    co_await emptied_.async_wait(use_tuple);
  }
}

}  // namespace gatehouse::proxy
