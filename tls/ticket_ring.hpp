// Session-ticket keys Gatehouse makes and rotates itself when no `ticket_keys` file is given:
// a new key every `ticket_rotation` (12 h by default), the previous one still decrypting for
// one more period. A listener's ring is handed from snapshot to snapshot on reload (see
// build_snapshot), so sessions survive a reload (the session-ID context still refuses any session
// from other client CAs or verify settings); another server in the same process has its own ring.
// Keys are random, in memory only, never logged.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "tls/session_resumption.hpp"

namespace gatehouse::tls {

class TicketKeyRing {
 public:
  explicit TicketKeyRing(std::int64_t period_seconds, std::int64_t now);
  // The key new tickets are sealed with; rotates first when the period has passed.
  const TicketKey& current(std::int64_t now);
  // The key called `name` while it may still decrypt (the current or the previous one).
  const TicketKey* find(const uint8_t* name, std::int64_t now);
  std::int64_t period() const { return period_; }

  // A new ring whose first key starts now.
  static std::shared_ptr<TicketKeyRing> make(std::int64_t period_seconds);

 private:
  struct Generation {
    TicketKey current;
    TicketKey previous;
    bool has_previous = false;
    std::int64_t since = 0;  // when `current` started sealing
  };
  const Generation& live(std::int64_t now);

  const std::int64_t period_;
  std::atomic<const Generation*> live_;
  // Replaced generations stay allocated for a few more periods: a handshake on another thread
  // may still be reading the one it loaded. Rotation is once per period, under try_lock only.
  std::array<std::unique_ptr<Generation>, 4> kept_;
  size_t next_kept_ = 0;
  std::mutex rotating_;
};

}  // namespace gatehouse::tls
