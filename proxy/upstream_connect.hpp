// Connecting to an upstream's pool: skip endpoints that failed their health check or were
// ejected after `eject_after` consecutive connect failures (for `eject_for`), pick by
// round robin or least connections, and move on to the next endpoint when a connect fails.
// Each worker keeps its own PoolState, so nothing here is shared or locked.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "proxy/pool_state.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker_state.hpp"

namespace gatehouse::proxy {

struct ConnectOutcome {
  int endpoint = -1;           // index into the upstream's endpoints; -1 when none connected
  bool none_eligible = false;  // every endpoint unhealthy or ejected: nothing was tried
  std::string failures;        // "127.0.0.1:9 (Connection refused); ..."
  int failed_attempts = 0;
};

// `socket` is opened and connected on success, and `state.pool->endpoints[endpoint].active`
// counted up; the caller counts it down when the connection ends. `state` is this worker's pool
// and current addresses of `upstream`.
asio::awaitable<ConnectOutcome> connect_upstream(const UpstreamRuntime& upstream, const UpstreamState& state,
                                                 asio::ip::tcp::socket& socket);

// Connects to the first of `addresses` that answers within `timeout`; "" or why each failed.
asio::awaitable<std::string> connect_any(const Endpoint::Addresses& addresses, conf::Duration timeout,
                                         asio::ip::tcp::socket& socket);

}  // namespace gatehouse::proxy
