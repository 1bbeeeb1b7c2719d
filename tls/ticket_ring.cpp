#include "tls/ticket_ring.hpp"

#include <openssl/rand.h>

#include <cstring>

namespace gatehouse::tls {
namespace {

TicketKey random_key() {
  TicketKey k;
  RAND_bytes(k.name, sizeof k.name);
  RAND_bytes(k.hmac, sizeof k.hmac);
  RAND_bytes(k.aes, sizeof k.aes);
  return k;
}

}  // namespace

TicketKeyRing::TicketKeyRing(std::int64_t period_seconds, std::int64_t now) : period_(period_seconds) {
  kept_[0] = std::make_unique<Generation>(Generation{random_key(), {}, false, now});
  live_.store(kept_[0].get());
  next_kept_ = 1;
}

const TicketKeyRing::Generation& TicketKeyRing::live(std::int64_t now) {
  const Generation* g = live_.load(std::memory_order_acquire);
  if (now < g->since + period_) return *g;
  std::unique_lock lock(rotating_, std::try_to_lock);
  if (!lock.owns_lock()) return *g;  // another thread is rotating: the old key is still good
  g = live_.load(std::memory_order_acquire);
  if (now < g->since + period_) return *g;
  // The outgoing key keeps decrypting for one period, unless it is older than that already.
  bool keep_previous = now < g->since + 2 * period_;
  auto next = std::make_unique<Generation>(Generation{random_key(), g->current, keep_previous, now});
  live_.store(next.get(), std::memory_order_release);
  kept_[next_kept_] = std::move(next);  // frees the generation of four rotations ago
  next_kept_ = (next_kept_ + 1) % kept_.size();
  return *live_.load(std::memory_order_acquire);
}

const TicketKey& TicketKeyRing::current(std::int64_t now) { return live(now).current; }

const TicketKey* TicketKeyRing::find(const uint8_t* name, std::int64_t now) {
  const Generation& g = live(now);
  if (std::memcmp(name, g.current.name, sizeof g.current.name) == 0) return &g.current;
  if (g.has_previous && std::memcmp(name, g.previous.name, sizeof g.previous.name) == 0) return &g.previous;
  return nullptr;
}

std::shared_ptr<TicketKeyRing> TicketKeyRing::make(std::int64_t period_seconds) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::make_shared<TicketKeyRing>(period_seconds, std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

}  // namespace gatehouse::tls
