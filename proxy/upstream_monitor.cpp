#include "proxy/upstream_monitor.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "common/deadline.hpp"
#include "proxy/event_loop.hpp"
#include "proxy/upstream_connect.hpp"

namespace gatehouse::proxy {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

asio::awaitable<bool> probe_endpoint(const Endpoint& endpoint, size_t slot, const conf::HealthSettings& health,
                                     std::string& why) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  std::string failed = co_await connect_any(endpoint.addresses_for(slot), health.timeout, socket);
  if (!failed.empty()) {
    why = "connect: " + failed;
    co_return false;
  }
  if (health.path.empty()) co_return true;
  Deadline deadline(socket.get_executor());
  deadline.arm(health.timeout, [&socket] { cancel_io(socket); });
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

asio::awaitable<void> UpstreamMonitor::check_health(const UpstreamRuntime& upstream, const Endpoint& endpoint) {
  const conf::HealthSettings& health = *upstream.settings.health;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    std::string why;
    bool healthy = co_await probe_endpoint(endpoint, workers_.size(), health, why);
    bool was = endpoint.healthy->exchange(healthy, std::memory_order_relaxed);
    if (was && !healthy) spdlog::warn("upstream '{}' endpoint {} is down: {}", upstream.name, endpoint.label, why);
    if (!was && healthy) spdlog::info("upstream '{}' endpoint {} is up again", upstream.name, endpoint.label);
    timer.expires_after(health.interval);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) co_return;
  }
}

asio::awaitable<void> UpstreamMonitor::keep_resolving(const UpstreamRuntime& upstream, const Endpoint& endpoint) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
  const size_t own = workers_.size();
  for (;;) {
    timer.expires_after(upstream.settings.resolve_interval);
    if (auto [ec] = co_await timer.async_wait(use_tuple); ec) co_return;
    Endpoint::Addresses fresh;
    std::string error;
    if (lookup_for_test_) {
      auto found = lookup_for_test_(endpoint.host, endpoint.port);
      if (found)
        fresh = *found;
      else
        error = "no such name";
    } else {
      auto [ec, results] = co_await resolver.async_resolve(endpoint.host, endpoint.port, use_tuple);
      if (ec) error = ec.message();
      for (const auto& r : results) fresh.push_back(r.endpoint());
    }
    if (!error.empty() || fresh.empty()) {  // keep the last good addresses: a DNS hiccup must not empty the pool
      spdlog::warn("upstream '{}': cannot resolve {}: {} (keeping the previous addresses)", upstream.name,
                   endpoint.label, error);
      continue;
    }
    if (fresh == endpoint.addresses_for(own)) continue;
    spdlog::info("upstream '{}': {} now resolves to {} address(es)", upstream.name, endpoint.label, fresh.size());
    (*endpoint.addresses)[own] = fresh;
    for (size_t w = 0; w < workers_.size(); ++w)
      asio::post(*workers_[w], [slots = endpoint.addresses, w, fresh] { (*slots)[w] = fresh; });
  }
}

UpstreamMonitor::UpstreamMonitor(std::shared_ptr<const Snapshot> snapshot, std::vector<asio::io_context*> workers)
    : snapshot_(std::move(snapshot)), workers_(std::move(workers)) {}

UpstreamMonitor::~UpstreamMonitor() { stop(); }

void UpstreamMonitor::start() {
  bool any = false;
  auto spawn = [&](asio::awaitable<void> task, const std::string& name) {
    any = true;
    asio::co_spawn(io_, std::move(task), [name](const std::exception_ptr& e) {
      if (e) spdlog::error("monitoring of upstream '{}' stopped unexpectedly", name);
    });
  };
  for (const auto& up : snapshot_->upstreams) {
    for (const auto& ep : up.endpoints) {
      if (ep.kind != Endpoint::Kind::tcp) continue;
      if (up.settings.health) spawn(check_health(up, ep), up.name);
      if (ep.by_name) spawn(keep_resolving(up, ep), up.name);
    }
  }
  if (any) thread_ = std::thread([this] { run_event_loop(io_, "upstream monitor"); });
}

void UpstreamMonitor::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gatehouse::proxy
