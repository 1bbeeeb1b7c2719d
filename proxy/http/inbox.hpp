// What http mode has read from one side and not parsed yet, and the read that fills it.
#pragma once

#include <sys/socket.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

namespace gatehouse::proxy::http {

constexpr std::size_t kReadSize = 16 * 1024;  // one TLS record

// Bytes read from one side and not parsed yet. The buffer is never zero-filled (a read writes it
// at once): resizing a string for each 16 KiB read cost a memset per read, 15% of an HTTP/2 request.
class Inbox {
 public:
  std::size_t pos = 0;  // the first byte not consumed; parsers advance it by what they used

  Inbox() = default;
  Inbox(Inbox&&) noexcept = default;
  Inbox& operator=(Inbox&&) noexcept = default;

  std::size_t available() const { return end_ - pos; }
  const char* next() const { return buf_.get() + pos; }
  void consume_all() { pos = end_; }

  // Where `want` more bytes go after those not consumed yet (moved to the front first).
  char* room(std::size_t want) {
    const std::size_t held = available();
    if (held > 0 && pos > 0) std::memmove(buf_.get(), buf_.get() + pos, held);
    pos = 0;
    end_ = held;
    if (capacity_ < held + want) {
      auto bigger = std::make_unique_for_overwrite<char[]>(held + want);
      if (held > 0) std::memcpy(bigger.get(), buf_.get(), held);
      buf_ = std::move(bigger);
      capacity_ = held + want;
    }
    return buf_.get() + end_;
  }
  void filled(std::size_t n) { end_ += n; }
  // Gives the buffer back when nothing is held: an idle keep-alive connection keeps none.
  void release_if_empty() {
    if (available() > 0) return;
    buf_.reset();
    capacity_ = pos = end_ = 0;
  }

 private:
  std::unique_ptr<char[]> buf_;
  std::size_t capacity_ = 0;
  std::size_t end_ = 0;
};

// Reads what is there; while there is nothing, waits holding no buffer.
template <typename Stream>
inline asio::awaitable<std::error_code> read_into(Stream& stream, Inbox& in) {
  for (;;) {
    char* at = in.room(kReadSize);
    auto [ec, n] = co_await stream.read_ready(at, kReadSize);
    if (!ec) in.filled(n);
    if (ec != asio::error::would_block) co_return ec;
    in.release_if_empty();
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
