// Keeps each upstream's view of its endpoints fresh, off the workers, on one thread:
// - active health checks (`health = { interval, timeout, path }`): a TCP connect, or an HTTP GET
//   that must answer 2xx; each verdict goes into the endpoint's atomic flag, which workers read;
// - DNS names looked up again every `resolve_interval`; a new answer goes into the monitor's own
//   AddressBook (its health checks use it) and to every worker, which keeps it in its own book
//   (the server posts it to each worker's io_context), so workers never share or lock anything.
// A reload replaces the monitor; the next one starts from what this one knew.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "proxy/snapshot.hpp"

namespace gatehouse::proxy {

// Looks a name up; nullopt when it does not resolve. Only tests replace the real lookup, to
// change a name's answer while running (the machine's DNS is not theirs to change).
using LookupForTest =
    std::function<std::optional<Endpoint::Addresses>(const std::string& host, const std::string& port)>;

// Hands a new answer for an endpoint ("host:port" as written) to every worker; from the monitor's thread.
using PublishAddresses = std::function<void(const std::string& endpoint, const Resolution& answer)>;

class UpstreamMonitor {
 public:
  // `known`: what the monitor this one replaces knew (a reload); the snapshot's own lookups win
  // where they are newer.
  UpstreamMonitor(std::shared_ptr<const Snapshot> snapshot, PublishAddresses publish, AddressBook known = {});
  ~UpstreamMonitor();
  UpstreamMonitor(const UpstreamMonitor&) = delete;
  UpstreamMonitor& operator=(const UpstreamMonitor&) = delete;

  void start();  // no thread at all when nothing needs watching
  void use_lookup_for_test(LookupForTest lookup) { lookup_for_test_ = std::move(lookup); }
  void stop();
  // After stop(): what this monitor knew, for the one that replaces it.
  AddressBook take_addresses() { return std::move(addresses_); }

 private:
  asio::awaitable<void> check_health(const UpstreamRuntime& upstream, const Endpoint& endpoint);
  asio::awaitable<void> keep_resolving(const UpstreamRuntime& upstream, const Endpoint& endpoint);

  std::shared_ptr<const Snapshot> snapshot_;
  PublishAddresses publish_;
  AddressBook addresses_;  // the monitor's thread only, once started
  LookupForTest lookup_for_test_;
  asio::io_context io_{1};
  std::thread thread_;
};

// One probe of `endpoint` at `addresses`: true when healthy, else `why` says what failed.
asio::awaitable<bool> probe_endpoint(const Endpoint& endpoint, const Addresses& addresses,
                                     const conf::HealthSettings& health, std::string& why);

}  // namespace gatehouse::proxy
