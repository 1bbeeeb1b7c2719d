// Connecting to an upstream: each endpoint gets connect_timeout; a refusal or timeout moves on
// to the next endpoint, starting from a rotating position so load spreads.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <string>

#include "proxy/snapshot.hpp"

namespace gatehouse::proxy {

struct ConnectOutcome {
  const Endpoint* endpoint = nullptr;  // null when every endpoint failed
  std::string failures;                // "127.0.0.1:9 (Connection refused); ..."
  int failed_attempts = 0;
};

// `socket` is opened and connected on success. `first` picks the endpoint tried first.
asio::awaitable<ConnectOutcome> connect_upstream(const UpstreamRuntime& upstream, asio::ip::tcp::socket& socket,
                                                 size_t first);

}  // namespace gatehouse::proxy
