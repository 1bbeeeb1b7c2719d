// A worker's connections as a group of tasks (as Beast's advanced server keeps its sessions).
// Each connection Worker::spawn_connection starts is a member: the member's cancellation signal
// is bound to the connection's co_spawn, so emitting it aborts whatever operation the coroutine
// awaits, through nested awaitables and both sides of `&&`. A drain, a reload's verdict and
// max_connection_age end a connection that way, and the member records why: the access log's
// close comes from there, not from flags the connection's loops read. The worker awaits the
// group becoming empty. No socket pointers are kept: a connection's sockets are its own.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>

#include "common/reason.hpp"
#include "proxy/close_reason.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::policy {
class RoutePolicy;
}

namespace gatehouse::proxy {

// Where a connection is, which says how gently Gatehouse may end it.
enum class Phase : std::uint8_t {
  opening,  // PROXY header, handshake, upstream connect: nothing to wait for
  request,  // http mode, a request in flight: a gentle end waits for the response's end
  idle,     // http mode, between requests: nothing in flight, ends at once
  tunnel,   // tcp mode or an upgraded request: bytes both ways, no request boundary comes
};

class ConnectionMember {
 public:
  using Position = std::list<ConnectionMember>::iterator;

  ConnectionMember() = default;  // a connection outside any group (tests)
  ConnectionMember(std::size_t listener_index, std::uint64_t generation)
      : listener(listener_index), checked_generation(generation) {}
  ConnectionMember(const ConnectionMember&) = delete;
  ConnectionMember& operator=(const ConnectionMember&) = delete;

  // Bound to the connection's co_spawn (asio::bind_cancellation_slot).
  asio::cancellation_slot slot() { return signal_.slot(); }

  // What a reload's revalidation needs. `ssl` is set once the client was verified and admitted:
  // its chain is checked again after each reload. Null for clients not admitted.
  std::size_t listener = 0;
  SSL* ssl = nullptr;
  // The rules its route had when it was admitted (in the snapshot the connection holds): http mode
  // judges its requests by them until it ends.
  const policy::RoutePolicy* rules = nullptr;
  std::uint64_t checked_generation = 0;  // the worker's snapshot generation it last passed

  Phase phase() const { return phase_; }
  void set_phase(Phase phase) { phase_ = phase; }
  // http mode, after 101: a close no longer waits for a request boundary.
  void enter_tunnel();

  // Why Gatehouse ends it, if it does: drained, terminated, reverified_closed or
  // max_connection_age. http mode reads it at request boundaries (keep-alive or not).
  std::optional<Close> ending() const { return ending_; }
  // A reload's verdict or max_connection_age ended an admitted connection: that is its close.
  bool ended_by_gatehouse() const {
    return ending_ == Close::reverified_closed || ending_ == Close::max_connection_age;
  }
  gatehouse::Reason ending_reason() const { return ending_reason_; }
  const std::string& ending_detail() const { return ending_detail_; }

  // A reload's verdict or max_connection_age: at once, unless a request is in flight (then at its
  // end). The first such ending stays.
  void end(Close why, gatehouse::Reason reason, std::string detail);
  // A drain began: an idle keep-alive connection ends now; a request in flight is answered with
  // `Connection: close`; a tunnel goes on until the deadline.
  void drain();
  // The drain deadline: cut now, whatever it is doing.
  void terminate();
  // HTTP/2: told when end() or drain() records an ending while a request is in flight (no
  // cancellation is emitted then), so the session announces it at once with GOAWAY instead of at
  // its next read. Set for the session's life; an empty function unsets it.
  void on_ending_in_flight(std::function<void()> announce) { announce_ = std::move(announce); }

 private:
  void cancel_now() { signal_.emit(asio::cancellation_type::terminal); }

  friend class ConnectionGroup;
  Position position_;  // in its group's list, for leave()
  asio::cancellation_signal signal_;
  Phase phase_ = Phase::opening;
  std::optional<Close> ending_;
  gatehouse::Reason ending_reason_ = gatehouse::Reason::ok;
  std::string ending_detail_;
  std::function<void()> announce_;
};

class ConnectionGroup {
 public:
  explicit ConnectionGroup(const asio::any_io_executor& ex);
  ConnectionGroup(const ConnectionGroup&) = delete;
  ConnectionGroup& operator=(const ConnectionGroup&) = delete;

  // A member lives from before its co_spawn until its completion handler calls leave().
  ConnectionMember& join(std::size_t listener, std::uint64_t generation);
  void leave(ConnectionMember& member);  // the last one out wakes wait_empty()
  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  std::list<ConnectionMember>& members() { return members_; }

  void drain();      // every member's drain()
  void terminate();  // every member's terminate()
  // Returns when the group is empty (true), or when this wait itself is cancelled (false unless
  // empty by then, e.g. as the loser of `||` against a deadline).
  asio::awaitable<bool> wait_empty();

 private:
  std::list<ConnectionMember> members_;
  // Never expires: an event, not a clock. leave() cancels it when the group empties.
  asio::steady_timer emptied_;
};

}  // namespace gatehouse::proxy
