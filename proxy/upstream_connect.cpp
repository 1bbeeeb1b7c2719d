#include "proxy/upstream_connect.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "common/deadline.hpp"

namespace gatehouse::proxy {
namespace {

using Clock = std::chrono::steady_clock;

// The endpoints worth trying, best first.
std::vector<size_t> candidates(const UpstreamRuntime& upstream, PoolState& pool) {
  const size_t n = upstream.endpoints.size();
  if (pool.endpoints.size() != n) pool.endpoints.assign(n, EndpointState{});
  const auto now = Clock::now();
  std::vector<size_t> order;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (pool.next + k) % n;
    const Endpoint& ep = upstream.endpoints[i];
    if (ep.kind == Endpoint::Kind::tcp && ep.healthy->load(std::memory_order_relaxed) &&
        pool.endpoints[i].ejected_until <= now)
      order.push_back(i);
  }
  pool.next = (pool.next + 1) % std::max<size_t>(n, 1);
  if (upstream.settings.balance == conf::Balance::least_connections)
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return pool.endpoints[a].active < pool.endpoints[b].active; });
  return order;
}

}  // namespace

asio::awaitable<std::string> connect_any(const Endpoint::Addresses& addresses, conf::Duration timeout,
                                         asio::ip::tcp::socket& socket) {
  if (addresses.empty()) co_return "its name does not resolve";
  std::string why;
  Deadline deadline(socket.get_executor());
  for (const auto& address : addresses) {
    asio::error_code ec;
    socket.close(ec);
    deadline.arm(timeout, [&socket] { cancel_io(socket); });
    auto [connect_ec] = co_await socket.async_connect(address, asio::experimental::as_tuple(asio::use_awaitable));
    deadline.disarm();
    if (!connect_ec) co_return "";
    if (!why.empty()) why += ", ";
    why += addresses.size() > 1 ? address.address().to_string() + ": " : "";
    why += deadline.fired() ? "no answer within connect_timeout" : connect_ec.message();
  }
  asio::error_code ignored;
  socket.close(ignored);
  co_return why;
}

asio::awaitable<ConnectOutcome> connect_upstream(const UpstreamRuntime& upstream, const UpstreamState& upstream_state,
                                                 asio::ip::tcp::socket& socket) {
  static const Addresses kNone;
  PoolState& pool = *upstream_state.pool;
  ConnectOutcome out;
  const std::vector<size_t> order = candidates(upstream, pool);
  out.none_eligible = order.empty();
  for (size_t i : order) {
    const Endpoint& ep = upstream.endpoints[i];
    EndpointState& state = pool.endpoints[i];
    // Held for the whole attempt: a newer answer may replace the worker's entry meanwhile.
    const std::shared_ptr<const Addresses> addresses = upstream_state.addresses[i]->addresses;
    std::string why = co_await connect_any(addresses ? *addresses : kNone, upstream.settings.connect_timeout, socket);
    if (why.empty()) {
      asio::error_code ec;
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      state.consecutive_failures = 0;
      ++state.active;
      out.endpoint = static_cast<int>(i);
      co_return out;
    }
    ++out.failed_attempts;
    // Passive ejection: an endpoint that keeps refusing is left alone for a while.
    if (upstream.settings.eject_after > 0 && ++state.consecutive_failures >= upstream.settings.eject_after) {
      state.consecutive_failures = 0;
      state.ejected_until = Clock::now() + upstream.settings.eject_for;
    }
    if (!out.failures.empty()) out.failures += "; ";
    out.failures += ep.label + " (" + why + ")";
  }
  co_return out;
}

}  // namespace gatehouse::proxy
