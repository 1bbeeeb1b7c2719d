// What a connection may use of its worker. Everything here belongs to one worker thread,
// so nothing needs a lock.
#pragma once

#include <asio/ip/tcp.hpp>
#include <list>
#include <memory>
#include <vector>

#include "metrics/worker_counters.hpp"
#include "proxy/access_log.hpp"
#include "proxy/upstream_connect.hpp"

namespace gatehouse::proxy {

// The sockets of one live connection, so that a drain deadline can end it.
struct LiveSockets {
  asio::ip::tcp::socket* client = nullptr;
  asio::ip::tcp::socket* upstream = nullptr;
  bool idle = false;  // http keep-alive: waiting for the client's next request
};

struct WorkerContext {
  size_t index = 0;  // also this worker's slot in each endpoint's address list
  metrics::WorkerCounters counters;
  AccessLog::Writer access_log;  // this worker's queue
  bool draining = false;       // stopped accepting: finish what is in flight, keep nothing alive
  bool terminating = false;    // set when the drain deadline passed
  std::list<LiveSockets> live;
  // By ListenerRuntime::index (a reload never changes the listeners); sized before the worker
  // runs. Per-upstream and per-route state lives in the snapshot (UpstreamRuntime::pools, ...).
  std::vector<std::unique_ptr<metrics::ListenerCounters>> listener_counters;

  metrics::ListenerCounters& listener(size_t i) { return *listener_counters[i]; }
  void size_counters(size_t listeners) {
    while (listener_counters.size() < listeners) listener_counters.push_back(std::make_unique<metrics::ListenerCounters>());
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
