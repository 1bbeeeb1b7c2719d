#include "proxy/proxy_header_reader.hpp"

#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "common/deadline.hpp"
#include "conf/network.hpp"
#include "proxy/proxy_protocol.hpp"

namespace gatehouse::proxy {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

std::array<std::uint8_t, 16> bytes16(const asio::ip::address& a) {
  if (a.is_v6()) return a.to_v6().to_bytes();
  return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes();
}

ProxyHeaderOutcome refuse(std::string why) { return {false, std::nullopt, std::move(why), std::nullopt}; }
ProxyHeaderOutcome nothing(Reason reason, std::string why) { return {false, std::nullopt, std::move(why), reason}; }
ProxyHeaderOutcome cut_short() {
  return nothing(Reason::server_closed,
                 "Gatehouse ended the connection before its PROXY header arrived (a drain's deadline or "
                 "max_connection_age)");
}

}  // namespace

asio::awaitable<ProxyHeaderOutcome> read_proxy_header(asio::ip::tcp::socket& socket,
                                                      const std::vector<conf::Network>& trusted,
                                                      conf::Duration timeout) {
  asio::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) co_return nothing(Reason::client_closed, "the client went away before sending anything");
  Deadline deadline(socket.get_executor());
  deadline.arm(timeout, [&socket] { cancel_io(socket); });
  auto [wait_ec] = co_await socket.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
  // Cancelled, and not by the deadline: the connection's signal (a drain's deadline, max_connection_age).
  const auto cut = [&deadline](const asio::error_code& e) {
    return e == asio::error::operation_aborted && !deadline.fired();
  };
  if (cut(wait_ec)) co_return cut_short();
  std::uint8_t first = 0;
  ssize_t peeked = wait_ec ? -1 : ::recv(socket.native_handle(), &first, 1, MSG_PEEK);
  const int peek_errno = peeked < 0 && !wait_ec ? errno : 0;
  if (peeked <= 0 && deadline.fired())
    co_return nothing(Reason::handshake_timeout, "nothing arrived within handshake_timeout");
  if (peeked == 0) co_return nothing(Reason::client_closed, "the client closed the connection before sending anything");
  if (peek_errno == ECONNRESET)
    co_return nothing(Reason::client_closed, "the client reset the connection before sending anything");
  if (peeked < 0) co_return refuse("the client went away");
  if (first != 'P' && first != '\r') co_return ProxyHeaderOutcome{};  // a TLS ClientHello: no header
  const auto address = bytes16(remote.address());
  bool allowed = false;
  for (const auto& net : trusted) allowed |= conf::network_contains(net, address);
  if (!allowed)
    co_return refuse("a PROXY protocol header from " + remote.address().to_string() +
                     ", which is not in accept_proxy_protocol");
  // Read exactly the header, never a byte of the TLS stream behind it: 8 bytes tell the version.
  std::vector<std::uint8_t> buf(8);
  auto [e1, n1] = co_await asio::async_read(socket, asio::buffer(buf), use_tuple);
  if (e1) co_return cut(e1) ? cut_short() : refuse("the PROXY header was cut short");
  for (;;) {
    auto h = parse_proxy_header(buf.data(), buf.size());
    if (h.status == ReceivedProxyHeader::Status::complete) {
      if (h.length != buf.size()) co_return refuse("a malformed PROXY header");
      co_return ProxyHeaderOutcome{true, h.source, ""};
    }
    if (h.status != ReceivedProxyHeader::Status::need_more)
      co_return refuse(h.error.empty() ? "not a PROXY protocol header" : h.error);
    // v2: the 16-byte header names its length; v1: one byte at a time up to CRLF.
    std::size_t want = 1;
    if (buf[0] == '\r')
      want = buf.size() < 16 ? 16 - buf.size() : 16 + (std::size_t{buf[14]} << 8 | buf[15]) - buf.size();
    std::size_t old = buf.size();
    buf.resize(old + want);
    auto [e2, n2] = co_await asio::async_read(socket, asio::buffer(buf.data() + old, want), use_tuple);
    if (e2 && cut(e2)) co_return cut_short();
    if (e2)
      co_return refuse(deadline.fired() ? "the PROXY header did not arrive within handshake_timeout"
                                        : "the PROXY header was cut short");
  }
}

}  // namespace gatehouse::proxy
