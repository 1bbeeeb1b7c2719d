#include "proxy/upstream_monitor.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
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

asio::awaitable<bool> probe_endpoint(const Endpoint& endpoint, const Addresses& addresses,
                                     const conf::HealthSettings& health, std::string& why) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  std::string failed = co_await connect_any(addresses, health.timeout, socket);
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
    const auto addresses = addresses_.addresses(endpoint.label);  // held across the probe
    bool healthy = co_await probe_endpoint(endpoint, *addresses, health, why);
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
    if (fresh == *addresses_.addresses(endpoint.label)) continue;
    spdlog::info("upstream '{}': {} now resolves to {} address(es)", upstream.name, endpoint.label, fresh.size());
    const Resolution& answer = addresses_.learn(endpoint.label, Resolution::now(std::move(fresh)));
    publish_(endpoint.label, answer);
  }
}

UpstreamMonitor::UpstreamMonitor(std::shared_ptr<const Snapshot> snapshot, PublishAddresses publish, AddressBook known)
    : snapshot_(std::move(snapshot)), publish_(std::move(publish)), addresses_(std::move(known)) {
  for (const auto& up : snapshot_->upstreams)
    for (const auto& ep : up.endpoints)
      if (ep.kind == Endpoint::Kind::tcp) addresses_.learn(ep.label, ep.resolved);
}

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
