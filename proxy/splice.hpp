// Copies bytes both ways between the client's TLS stream and the upstream socket with one
// bounded buffer per direction, forwards each half-close, and ends on idle_timeout.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

#include "conf/settings.hpp"
#include "metrics/worker_counters.hpp"
#include "tls/stream.hpp"

namespace gatehouse::proxy {

struct SpliceResult {
  std::uint64_t client_to_upstream = 0;
  std::uint64_t upstream_to_client = 0;
  std::string close;  // "done", "idle_timeout", "client_error: ...", "upstream_error: ...", "terminated"
};

asio::awaitable<SpliceResult> splice(tls::Stream& client, asio::ip::tcp::socket& upstream, conf::Duration idle_timeout,
                                     metrics::WorkerCounters& counters, const bool& terminating);

}  // namespace gatehouse::proxy
