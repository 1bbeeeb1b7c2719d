// Active health checks for upstream endpoints (`health = { interval, timeout, path }`): a TCP
// connect, or an HTTP GET that must answer 2xx. Runs on its own thread and io_context, off the
// workers; publishes each verdict in the endpoint's atomic flag, which workers only read.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <memory>
#include <thread>

#include "proxy/snapshot.hpp"

namespace gatehouse::proxy {

class HealthChecker {
 public:
  explicit HealthChecker(std::shared_ptr<const Snapshot> snapshot);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void start();  // no thread at all when no upstream asks for health checks
  void stop();

 private:
  std::shared_ptr<const Snapshot> snapshot_;
  asio::io_context io_{1};
  std::thread thread_;
};

// One probe: true when healthy, else `why` says what failed.
asio::awaitable<bool> probe_endpoint(const Endpoint& endpoint, const conf::HealthSettings& health, std::string& why);

}  // namespace gatehouse::proxy
