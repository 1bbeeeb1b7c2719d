// gatehouse-echo: a plain TCP echo server on loopback, the upstream that gatehouse-bench's bulk
// mode needs behind a proxy (every byte sent comes back). One thread, one io_context; a fixed
// 64 KiB buffer per connection; runs until killed.
#include <CLI/CLI.hpp>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <iostream>
#include <memory>

#include "common/guarded_main.hpp"

namespace {

using asio::ip::tcp;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> echo(tcp::socket socket) {
  auto buffer = std::make_unique<std::array<char, 65536>>();
  for (;;) {
    auto [rec, n] = co_await socket.async_read_some(asio::buffer(*buffer), kTuple);
    if (rec) break;
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(buffer->data(), n), kTuple);
    if (wec) break;
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) continue;
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
  }
}

}  // namespace

namespace {
int run_main(int argc, char** argv) {
  CLI::App app{"gatehouse-echo: a TCP echo server on loopback, the upstream for gatehouse-bench --mode bulk"};
  std::string address = "127.0.0.1";
  unsigned short port = 0;
  app.add_option("port", port, "port to listen on")->required();
  app.add_option("--address", address, "address to listen on (loopback by default)");
  CLI11_PARSE(app, argc, argv);
  try {
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address(address), port));
    asio::co_spawn(io, accept_loop(acceptor), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "gatehouse-echo: " << address << ":" << port << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) { return gatehouse::guarded_main("gatehouse-echo", argc, argv, run_main); }
