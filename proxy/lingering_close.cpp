#include "proxy/lingering_close.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "common/deadline.hpp"

namespace gatehouse::proxy {

asio::awaitable<void> lingering_close(asio::ip::tcp::socket& socket, LingerLimits limits) {
  asio::error_code ec;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) co_return;  // already reset or closed: nothing left to protect
  Deadline deadline(socket.get_executor());
  deadline.arm(limits.time, [&socket] { cancel_io(socket); });
  constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
  std::array<char, 4096> sink{};
  std::size_t dropped = 0;
  while (dropped < limits.bytes) {
    auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(sink), use_tuple);
    if (read_ec) break;  // EOF: the client read the alert and closed; or time is up
    dropped += n;
  }
  deadline.disarm();
  socket.close(ec);
}

}  // namespace gatehouse::proxy
