// What a connection may use of its worker. Everything here belongs to one worker thread,
// so nothing needs a lock. The worker's connections themselves are its ConnectionGroup
// (proxy/connection_group.hpp): a connection reaches only its own member.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metrics/worker_counters.hpp"
#include "proxy/access_log.hpp"
#include "proxy/h2/upstream_pool.hpp"
#include "proxy/seen_clients.hpp"
#include "proxy/upstream_connect.hpp"
#include "proxy/worker_state.hpp"

namespace gatehouse::proxy {

struct Snapshot;

struct WorkerContext {
  size_t index = 0;
  std::uint64_t connections_accepted = 0;  // numbers the access log's connection ids
  metrics::WorkerCounters counters;
  AccessLog::Writer access_log;  // this worker's queue
  // The snapshot new connections get (kept alive by the Worker) and its number, +1 per reload.
  const Snapshot* current = nullptr;
  std::uint64_t generation = 0;
  // By ListenerRuntime::index (a reload never changes the listeners); sized before the worker
  // runs.
  std::vector<std::unique_ptr<metrics::ListenerCounters>> listener_counters;
  // Per upstream and per route, kept across reloads; `bound` maps the current snapshot to it.
  WorkerState state;
  std::shared_ptr<const SnapshotState> bound;
  // The client certificates this worker saw lately (GET /clients); its thread only.
  SeenClients seen_clients;
  // HTTP/2 connections to h2c and h2 upstreams, shared by this worker's streams.
  h2::MuxPool h2_upstreams;

  metrics::ListenerCounters& listener(size_t i) { return *listener_counters[i]; }
  void size_counters(size_t listeners) {
    while (listener_counters.size() < listeners)
      listener_counters.push_back(std::make_unique<metrics::ListenerCounters>());
  }
};

}  // namespace gatehouse::proxy
