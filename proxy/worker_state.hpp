// What one worker keeps across reloads: per upstream its pool (who failed, who is ejected, round
// robin) and counters, per endpoint the addresses its name resolves to now, per route its
// authorization counters. A snapshot only names these; the worker owns them, so a reload neither
// restarts a series, loses the increments of connections still serving on the old snapshot,
// nor forgets what the upstream monitor last told it.
//
// Written by the worker's thread only. Which names exist changes only when the worker binds a
// snapshot, under a mutex the metrics scrape also takes; a connection never takes it (it uses
// the SnapshotState its worker bound when it was accepted: plain pointers, by index).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "metrics/worker_counters.hpp"
#include "proxy/address_book.hpp"
#include "proxy/pool_state.hpp"

namespace gatehouse::proxy {

struct Snapshot;

struct UpstreamState {
  PoolState* pool = nullptr;                      // per upstream name and endpoint list
  metrics::UpstreamCounters* counters = nullptr;  // per upstream name
  std::vector<const Resolution*> addresses;       // by endpoint index (null for a built-in): per endpoint as written
};

// One snapshot's upstreams and routes, mapped to one worker's state by index.
struct SnapshotState {
  std::vector<UpstreamState> upstreams;                      // by UpstreamRuntime::index
  std::vector<std::vector<metrics::RouteCounters*>> routes;  // [listener][route]; one more: no route

  metrics::RouteCounters& route(size_t listener, int route_index) const {
    const auto& slots = routes[listener];
    return *slots[route_index < 0 ? slots.size() - 1 : static_cast<size_t>(route_index)];
  }
};

class WorkerState {
 public:
  // On the worker's thread (or before it runs): the state `snapshot` uses, creating what its
  // new names need. A name seen before keeps its state.
  std::shared_ptr<const SnapshotState> bind(const Snapshot& snapshot);
  // On the worker's thread: the upstream monitor's new answer for an endpoint ("host:port").
  // Connections bound to any snapshot see it at their next connect.
  void learn_addresses(const std::string& endpoint, const Resolution& answer) { addresses_.learn(endpoint, answer); }

  // For the scrape, from any thread: the counters of a name, nullptr when this worker never
  // served it. `route` "" is "no route matched".
  template <typename Fn>
  void read_upstream(const std::string& upstream, Fn fn) const {
    std::lock_guard lock(structure_);
    if (auto it = upstreams_.find(upstream); it != upstreams_.end()) fn(*it->second);
  }
  template <typename Fn>
  void read_route(const std::string& listener, const std::string& route, Fn fn) const {
    std::lock_guard lock(structure_);
    if (auto it = routes_.find({listener, route}); it != routes_.end()) fn(*it->second);
  }

 private:
  mutable std::mutex structure_;  // bind and the scrape only: never on a connection's path
  std::map<std::string, std::unique_ptr<metrics::UpstreamCounters>> upstreams_;
  // By upstream name and its endpoints, in order: a pool's slots are its endpoints.
  std::map<std::pair<std::string, std::vector<std::string>>, std::unique_ptr<PoolState>> pools_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<metrics::RouteCounters>> routes_;
  AddressBook addresses_;  // the worker's thread only (bind and learn_addresses): the scrape never reads it
};

}  // namespace gatehouse::proxy
