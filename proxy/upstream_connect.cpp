#include "proxy/upstream_connect.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "proxy/deadline.hpp"

namespace gatehouse::proxy {

asio::awaitable<ConnectOutcome> connect_upstream(const UpstreamRuntime& upstream, asio::ip::tcp::socket& socket,
                                                 size_t first) {
  ConnectOutcome out;
  Deadline deadline(socket.get_executor());
  const size_t n = upstream.endpoints.size();
  for (size_t i = 0; i < n; ++i) {
    const Endpoint& ep = upstream.endpoints[(first + i) % n];
    if (ep.kind != Endpoint::Kind::tcp) continue;
    asio::error_code ec;
    socket.close(ec);
    deadline.arm(upstream.connect_timeout, [&socket] { socket.cancel(); });
    auto [connect_ec] = co_await socket.async_connect(ep.address, asio::experimental::as_tuple(asio::use_awaitable));
    deadline.disarm();
    if (!connect_ec) {
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      out.endpoint = &ep;
      co_return out;
    }
    ++out.failed_attempts;
    std::string why = deadline.fired() ? "no answer within connect_timeout" : connect_ec.message();
    if (!out.failures.empty()) out.failures += "; ";
    out.failures += ep.address.address().to_string() + ":" + std::to_string(ep.address.port()) + " (" + why + ")";
  }
  asio::error_code ignored;
  socket.close(ignored);
  co_return out;
}

}  // namespace gatehouse::proxy
