// Keeps each upstream's view of its endpoints fresh, off the workers, on one thread:
// - active health checks (`health = { interval, timeout, path }`): a TCP connect, or an HTTP GET
//   that must answer 2xx; each verdict goes into the endpoint's atomic flag, which workers read;
// - DNS names looked up again every `resolve_interval`; new addresses are posted to every worker,
//   which stores them in its own slot, so workers never share or lock anything.
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

class UpstreamMonitor {
 public:
  // `workers[i]` runs the worker whose address slot is i; the monitor uses slot workers.size().
  UpstreamMonitor(std::shared_ptr<const Snapshot> snapshot, std::vector<asio::io_context*> workers);
  ~UpstreamMonitor();
  UpstreamMonitor(const UpstreamMonitor&) = delete;
  UpstreamMonitor& operator=(const UpstreamMonitor&) = delete;

  void start();  // no thread at all when nothing needs watching
  void use_lookup_for_test(LookupForTest lookup) { lookup_for_test_ = std::move(lookup); }
  void stop();

 private:
  asio::awaitable<void> check_health(const UpstreamRuntime& upstream, const Endpoint& endpoint);
  asio::awaitable<void> keep_resolving(const UpstreamRuntime& upstream, const Endpoint& endpoint);

  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<asio::io_context*> workers_;
  LookupForTest lookup_for_test_;
  asio::io_context io_{1};
  std::thread thread_;
};

// One probe from the address slot `slot`: true when healthy, else `why` says what failed.
asio::awaitable<bool> probe_endpoint(const Endpoint& endpoint, size_t slot, const conf::HealthSettings& health,
                                     std::string& why);

}  // namespace gatehouse::proxy
