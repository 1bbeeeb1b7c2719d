// Everything a worker needs to serve, compiled once from Settings and never changed after:
// TLS contexts, upstream endpoints (with what their names resolved to at load), routes.
// Connections hold it for their lifetime. What changes while serving (pools, counters, the
// addresses a name resolves to now) is the workers' (proxy/worker_state.hpp).
#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "conf/diagnostics.hpp"
#include "conf/settings.hpp"
#include "policy/router.hpp"
#include "proxy/address_book.hpp"
#include "tls/client_context.hpp"
#include "tls/server_context.hpp"

namespace gatehouse::proxy {

struct Endpoint {
  using Addresses = proxy::Addresses;
  enum class Kind { tcp, builtin_whoami } kind = Kind::tcp;
  std::string label;  // as written in the config, for logs
  std::string host;   // a name or an IP address: what an upstream certificate must carry
  std::string port;
  bool by_name = false;  // re-resolved every resolve_interval
  // The lookup made when this config was loaded (empty when the name did not resolve then). Each
  // worker's AddressBook takes it when it binds the snapshot, unless it already knows a newer one.
  Resolution resolved;
  // Written by the active health checker, read by workers: one flag, no lock.
  std::shared_ptr<std::atomic<bool>> healthy = std::make_shared<std::atomic<bool>>(true);
};

struct UpstreamRuntime {
  size_t index = 0;  // position in Snapshot::upstreams
  std::string name;
  std::vector<Endpoint> endpoints;
  conf::UpstreamSettings settings;
  std::unique_ptr<tls::ClientContext> tls;  // set when the upstream speaks TLS
  // Pools and counters belong to the workers (proxy/worker_state.hpp), by this upstream's name.
};

struct ListenerRuntime {
  size_t index = 0;  // position in Snapshot::listeners
  conf::ListenerSettings settings;
  asio::ip::tcp::endpoint address;
  std::unique_ptr<policy::Router> router;               // before `tls`: the handshake uses it
  std::vector<const UpstreamRuntime*> route_upstreams;  // by route index
  std::unique_ptr<tls::ServerContext> tls;
  // Self-rotated ticket keys (null with `ticket_keys`): shared with the next snapshot's listener
  // of the same name, so sessions survive a reload; never with another server's.
  std::shared_ptr<tls::TicketKeyRing> ticket_ring;
};

struct Snapshot {
  conf::Settings settings;
  std::vector<UpstreamRuntime> upstreams;  // fixed size once built: routes point into it
  std::vector<ListenerRuntime> listeners;
};

// Workers a server with these settings runs: `workers`, or one per core when 0.
size_t worker_count(const conf::ServerSettings& server);

// Loads every file the settings name; all problems go to `problems` (nullptr result then).
// `previous`: the snapshot a reload replaces, whose listeners hand on their ticket keys.
std::shared_ptr<const Snapshot> build_snapshot(const conf::Settings& settings, conf::Diagnostics& problems,
                                               const Snapshot* previous = nullptr);

// "127.0.0.1:8443", "[::1]:8443", "localhost:8443" → addresses (blocking lookup: start-up only).
std::vector<asio::ip::tcp::endpoint> resolve_host_port(const std::string& text, std::string& error);

}  // namespace gatehouse::proxy
