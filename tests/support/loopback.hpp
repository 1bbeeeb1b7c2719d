// A connected pair of TCP sockets over loopback, for tests that need real sockets (cancellation
// reaching a blocked read, a splice between two peers) without a server.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace gatehouse::test {

struct Loopback {
  explicit Loopback(asio::io_context& io) : near(io), far(io) {
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
    near.connect(acceptor.local_endpoint());
    acceptor.accept(far);
  }
  asio::ip::tcp::socket near, far;
};

}  // namespace gatehouse::test
