#include "proxy/health_checker.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "proxy/deadline.hpp"

namespace gatehouse::proxy {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> watch(const UpstreamRuntime& upstream, const Endpoint& endpoint) {
  const conf::HealthSettings& health = *upstream.settings.health;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    std::string why;
    bool healthy = co_await probe_endpoint(endpoint, health, why);
    bool was = endpoint.healthy->exchange(healthy, std::memory_order_relaxed);
    if (was && !healthy) spdlog::warn("upstream '{}' endpoint {} is down: {}", upstream.name, endpoint.label, why);
    if (!was && healthy) spdlog::info("upstream '{}' endpoint {} is up again", upstream.name, endpoint.label);
    timer.expires_after(health.interval);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) co_return;
  }
}

}  // namespace

asio::awaitable<bool> probe_endpoint(const Endpoint& endpoint, const conf::HealthSettings& health, std::string& why) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  Deadline deadline(socket.get_executor());
  deadline.arm(health.timeout, [&socket] { socket.cancel(); });
  auto [ec] = co_await socket.async_connect(endpoint.address, use_tuple);
  if (ec) {
    why = deadline.fired() ? "no answer within the health check timeout" : "connect: " + ec.message();
    co_return false;
  }
  if (health.path.empty()) co_return true;
  std::string request = "GET " + health.path + " HTTP/1.1\r\nHost: " + endpoint.label +
                        "\r\nUser-Agent: gatehouse-health\r\nConnection: close\r\n\r\n";
  auto [wec, written] = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
  std::string head;
  char buf[1024];
  while (!wec && head.find("\r\n") == std::string::npos && head.size() < 4096) {
    auto [rec, n] = co_await socket.async_read_some(asio::buffer(buf), use_tuple);
    if (rec) break;
    head.append(buf, n);
  }
  // "HTTP/1.1 200 OK": the status code is the second word.
  auto space = head.find(' ');
  if (wec || space == std::string::npos || head.size() < space + 4) {
    why = deadline.fired() ? "no HTTP answer within the health check timeout" : "no HTTP status line";
    co_return false;
  }
  if (head.compare(0, 5, "HTTP/") != 0 || head[space + 1] != '2') {
    why = "GET " + health.path + " answered '" + head.substr(0, head.find("\r\n")) + "'";
    co_return false;
  }
  co_return true;
}

HealthChecker::HealthChecker(std::shared_ptr<const Snapshot> snapshot) : snapshot_(std::move(snapshot)) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::start() {
  bool any = false;
  for (const auto& up : snapshot_->upstreams) {
    if (!up.settings.health) continue;
    for (const auto& ep : up.endpoints) {
      if (ep.kind != Endpoint::Kind::tcp) continue;
      any = true;
      asio::co_spawn(io_, watch(up, ep), [name = up.name](std::exception_ptr e) {
        if (e) spdlog::error("health checks of upstream '{}' stopped unexpectedly", name);
      });
    }
  }
  if (any) thread_ = std::thread([this] { io_.run(); });
}

void HealthChecker::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gatehouse::proxy
