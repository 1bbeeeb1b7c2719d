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
  std::vector<PoolState> pools;  // this worker's view of each upstream, by UpstreamRuntime::index
  // [listener][route], with one extra slot per listener for "no route matched".
  std::vector<std::vector<std::unique_ptr<metrics::RouteCounters>>> authz;
  std::list<LiveSockets> live;
  // By ListenerRuntime::index and UpstreamRuntime::index; sized before the worker runs.
  std::vector<std::unique_ptr<metrics::ListenerCounters>> listener_counters;
  std::vector<std::unique_ptr<metrics::UpstreamCounters>> upstream_counters;

  metrics::ListenerCounters& listener(size_t i) { return *listener_counters[i]; }
  metrics::UpstreamCounters& upstream(size_t i) { return *upstream_counters[i]; }
  void size_counters(size_t listeners, size_t upstreams) {
    while (listener_counters.size() < listeners) listener_counters.push_back(std::make_unique<metrics::ListenerCounters>());
    while (upstream_counters.size() < upstreams) upstream_counters.push_back(std::make_unique<metrics::UpstreamCounters>());
  }

  metrics::RouteCounters& route_counters(size_t listener, int route, size_t routes) {
    if (authz.size() <= listener) authz.resize(listener + 1);
    auto& slots = authz[listener];
    if (slots.size() < routes + 1)
      for (size_t i = slots.size(); i < routes + 1; ++i) slots.push_back(std::make_unique<metrics::RouteCounters>());
    return *slots[route < 0 ? routes : static_cast<size_t>(route)];
  }

  PoolState& pool(size_t upstream) {
    if (pools.size() <= upstream) pools.resize(upstream + 1);
    return pools[upstream];
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
