// What http mode has read from one side and not parsed yet, and the read that fills it.
#pragma once

#include <sys/socket.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cerrno>
#include <string>
#include <system_error>

namespace gatehouse::proxy::http {

constexpr std::size_t kReadSize = 16 * 1024;  // one TLS record

// Bytes read from one side and not parsed yet.
struct Inbox {
  std::string data;
  std::size_t pos = 0;
  std::size_t available() const { return data.size() - pos; }
  const char* next() const { return data.data() + pos; }
  void compact() {
    data.erase(0, pos);
    pos = 0;
  }
};

// Reads what is there; while there is nothing, waits holding no buffer (an idle keep-alive
// connection keeps none).
template <typename Stream>
inline asio::awaitable<std::error_code> read_into(Stream& stream, Inbox& in) {
  in.compact();
  for (;;) {
    std::size_t old = in.data.size();
    in.data.resize(old + kReadSize);
    auto [ec, n] = co_await stream.read_ready(in.data.data() + old, kReadSize);
    in.data.resize(old + (ec ? 0 : n));
    if (ec != asio::error::would_block) co_return ec;
    if (in.data.empty()) std::string().swap(in.data);  // give the capacity back while waiting
    if (auto wec = co_await stream.wait_readable()) co_return wec;
  }
}

// An idle keep-alive upstream connection the upstream has closed (or written to) is not reused.
inline bool stale(asio::ip::tcp::socket& socket) {
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace gatehouse::proxy::http
