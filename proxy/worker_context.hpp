// What a connection may use of its worker. Everything here belongs to one worker thread,
// so nothing needs a lock.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "common/reason.hpp"
#include "metrics/worker_counters.hpp"
#include "proxy/access_log.hpp"
#include "proxy/upstream_connect.hpp"
#include "proxy/worker_state.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::proxy {

struct Snapshot;

// Why Gatehouse itself ended a connection that was serving (not a timeout, drain or error).
enum class Ending : std::uint8_t {
  none,
  reverified_closed,   // a reload's CAs, CRLs or routes no longer pass its client (proxy/revalidation.hpp)
  max_connection_age,  // open for longer than the listener's max_connection_age
};

// The sockets of one live connection, so that a drain deadline, a reload or its age can end it.
struct LiveSockets {
  asio::ip::tcp::socket* client = nullptr;
  asio::ip::tcp::socket* upstream = nullptr;
  bool idle = false;  // http keep-alive: waiting for the client's next request
  // Set once the client was verified and admitted: the chain kept by its SSL is checked again
  // after each reload. Null for clients that were not admitted (verify = "optional" pages).
  SSL* ssl = nullptr;
  size_t listener = 0;
  std::uint64_t checked_generation = 0;  // the worker's snapshot generation it last passed
  bool request_boundaries = false;       // http mode: a gentle close may wait for the next request
  bool tunnel = false;                   // bytes both ways (tcp mode, upgraded http): no boundary comes
  Ending ending = Ending::none;
  gatehouse::Reason ending_reason = gatehouse::Reason::ok;
  std::string ending_detail;

  bool closing() const { return ending != Ending::none; }
  // Ends it now: pending operations are cancelled, and later ones fail (the sockets are shut down).
  void close_now() {
    asio::error_code ignored;
    for (auto* s : {client, upstream}) {
      if (!s || !s->is_open()) continue;
      s->cancel(ignored);
      s->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    }
  }
  // http mode, after 101: from now on a close cannot wait for a request boundary.
  void enter_tunnel() {
    tunnel = true;
    if (closing()) close_now();
  }
};

struct WorkerContext {
  size_t index = 0;
  std::uint64_t connections_accepted = 0;  // numbers the access log's connection ids
  metrics::WorkerCounters counters;
  AccessLog::Writer access_log;  // this worker's queue
  bool draining = false;         // stopped accepting: finish what is in flight, keep nothing alive
  bool terminating = false;      // set when the drain deadline passed
  std::list<LiveSockets> live;
  // The snapshot new connections get (kept alive by the Worker) and its number, +1 per reload.
  const Snapshot* current = nullptr;
  std::uint64_t generation = 0;
  // By ListenerRuntime::index (a reload never changes the listeners); sized before the worker
  // runs.
  std::vector<std::unique_ptr<metrics::ListenerCounters>> listener_counters;
  // Per upstream and per route, kept across reloads; `bound` maps the current snapshot to it.
  WorkerState state;
  std::shared_ptr<const SnapshotState> bound;

  metrics::ListenerCounters& listener(size_t i) { return *listener_counters[i]; }
  void size_counters(size_t listeners) {
    while (listener_counters.size() < listeners)
      listener_counters.push_back(std::make_unique<metrics::ListenerCounters>());
  }

  // Idle keep-alive connections have nothing in flight: they close now, not at the deadline.
  void start_draining() {
    draining = true;
    asio::error_code ignored;
    for (auto& l : live)
      if (l.idle && l.client) l.client->cancel(ignored);
  }

  void cancel_all() {
    terminating = true;
    asio::error_code ignored;
    for (auto& l : live) {
      if (l.client) l.client->cancel(ignored);
      if (l.upstream) l.upstream->cancel(ignored);
    }
  }
};

}  // namespace gatehouse::proxy
