#include "proxy/splice.hpp"

#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <optional>
#include <tuple>

#include "proxy/splice_impl.hpp"
#include "proxy/upstream_link.hpp"

namespace gatehouse::proxy {
namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace

asio::awaitable<std::tuple<std::error_code, size_t>> PlainStream::read_ready(void* data, size_t size) {
  if (drained_) {
    drained_ = false;
    co_return std::tuple{std::error_code(asio::error::would_block), size_t{0}};
  }
  ssize_t n = ::recv(socket_.native_handle(), data, size, MSG_DONTWAIT);
  if (n > 0) {
    drained_ = static_cast<size_t>(n) < size;
    co_return std::tuple{std::error_code{}, static_cast<size_t>(n)};
  }
  if (n == 0) co_return std::tuple{std::error_code(asio::error::eof), size_t{0}};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    co_return std::tuple{std::error_code(asio::error::would_block), size_t{0}};
  co_return std::tuple{std::error_code(errno, asio::error::get_system_category()), size_t{0}};
}

asio::awaitable<std::error_code> PlainStream::wait_readable() {
  auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
  co_return ec;
}

asio::awaitable<std::error_code> PlainStream::write_all(const void* data, size_t size) {
  drained_ = false;  // the answer may be there by the next read
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data, size), use_tuple);
  co_return ec;
}

asio::awaitable<std::error_code> PlainStream::close_send() {
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  co_return ec;
}

template asio::awaitable<SpliceResult> splice<tls::Stream, UpstreamLink>(tls::Stream&, UpstreamLink&, conf::Duration,
                                                                         metrics::ListenerCounters&);

}  // namespace gatehouse::proxy
