#include "tls/stream.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "tls/socket_bio.hpp"

namespace gatehouse::tls {
namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

Stream::Stream(asio::ip::tcp::socket& socket, bssl::UniquePtr<SSL> ssl) : socket_(socket), ssl_(std::move(ssl)) {
  // Nothing here may throw (a connection's failure is its own); what fails is kept in broken_
  // and is the answer of the first operation.
  asio::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) {
    broken_ = ec;
    last_error_ = "cannot make the socket non-blocking: " + ec.message();
    return;
  }
  bssl::UniquePtr<BIO> bio = ssl_ ? make_socket_bio(static_cast<int>(socket_.native_handle())) : nullptr;
  if (!bio) {
    broken_ = std::make_error_code(ssl_ ? std::errc::not_enough_memory : std::errc::invalid_argument);
    last_error_ = ssl_ ? "cannot make the socket BIO" : "no TLS connection object";
    return;
  }
  BIO* raw = bio.release();
  SSL_set_bio(ssl_.get(), raw, raw);  // takes the one reference, for reading and writing
}

asio::awaitable<std::optional<std::error_code>> Stream::settle(int ret) {
  int err = SSL_get_error(ssl_.get(), ret);
  switch (err) {
    case SSL_ERROR_WANT_READ: {
      auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
      if (ec) co_return ec;
      co_return std::nullopt;
    }
    case SSL_ERROR_WANT_WRITE: {
      auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_write, use_tuple);
      if (ec) co_return ec;
      co_return std::nullopt;
    }
    case SSL_ERROR_ZERO_RETURN:
      co_return asio::error::eof;
    case SSL_ERROR_SYSCALL: {
      int saved = errno;
      ERR_clear_error();
      if (ret == 0 || saved == 0) {
        last_error_ = "the peer closed the connection";
        co_return asio::error::eof;
      }
      last_error_ = std::strerror(saved);
      co_return std::error_code(saved, std::system_category());
    }
    default:
      last_error_code_ = ERR_peek_error();
      last_error_ = drain_errors();
      co_return std::make_error_code(std::errc::protocol_error);
  }
}

asio::awaitable<std::error_code> Stream::handshake() {
  if (broken_) co_return broken_;
  for (;;) {
    int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) co_return std::error_code{};
    if (auto ec = co_await settle(ret)) co_return *ec;
  }
}

asio::awaitable<std::tuple<std::error_code, size_t>> Stream::read_ready(void* data, size_t size) {
  if (broken_) co_return std::tuple{broken_, size_t{0}};
  auto* p = static_cast<uint8_t*>(data);
  size = std::min<size_t>(size, 1 << 30);
  for (;;) {
    int ret = SSL_read(ssl_.get(), p, static_cast<int>(size));
    if (ret > 0) {
      // SSL_read returns one record; take the ones already here too. Whatever stopped the
      // loop (no more data, close_notify, an error) is seen again by the next call.
      size_t got = static_cast<size_t>(ret);
      while (got < size) {
        int more = SSL_read(ssl_.get(), p + got, static_cast<int>(size - got));
        if (more <= 0) break;
        got += static_cast<size_t>(more);
      }
      ERR_clear_error();
      co_return std::tuple{std::error_code{}, got};
    }
    // Only after the socket said EAGAIN: an edge-triggered wait must not start before that.
    if (SSL_get_error(ssl_.get(), ret) == SSL_ERROR_WANT_READ)
      co_return std::tuple{std::error_code(asio::error::would_block), size_t{0}};
    if (auto ec = co_await settle(ret)) co_return std::tuple{*ec, size_t{0}};
  }
}

asio::awaitable<std::error_code> Stream::wait_readable() {
  auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
  co_return ec;
}

asio::awaitable<std::tuple<std::error_code, size_t>> Stream::read_some(void* data, size_t size) {
  for (;;) {
    auto [ec, n] = co_await read_ready(data, size);
    if (ec != asio::error::would_block) co_return std::tuple{ec, n};
    if (auto wec = co_await wait_readable()) co_return std::tuple{wec, size_t{0}};
  }
}

asio::awaitable<std::error_code> Stream::write_all(const void* data, size_t size) {
  if (broken_) co_return broken_;
  const auto* p = static_cast<const uint8_t*>(data);
  BIO* bio = SSL_get_wbio(ssl_.get());
  // More than one record: collect the records and send them with one send() (see socket_bio).
  const bool cork = size > SSL3_RT_MAX_PLAIN_LENGTH;
  if (cork) cork_socket_bio(bio, true);
  std::error_code failed;
  while (size > 0 && !failed) {
    // After WANT_WRITE, BoringSSL expects the very same arguments again; the loop does that.
    int len = static_cast<int>(std::min<size_t>(size, 1 << 30));
    int ret = SSL_write(ssl_.get(), p, len);
    if (ret > 0) {
      p += ret;
      size -= static_cast<size_t>(ret);
      continue;
    }
    if (auto ec = co_await settle(ret)) failed = *ec;
  }
  if (!cork) co_return failed;
  cork_socket_bio(bio, false);
  while (!failed) {
    int flushed = flush_socket_bio(bio);
    if (flushed > 0) break;
    if (flushed < 0) {
      failed = std::error_code(errno, std::system_category());
      break;
    }
    auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_write, use_tuple);
    if (ec) failed = ec;
  }
  co_return failed;
}

asio::awaitable<std::error_code> Stream::close_send() {
  if (broken_) co_return broken_;
  for (;;) {
    int ret = SSL_shutdown(ssl_.get());
    if (ret >= 0) co_return std::error_code{};  // 0: sent, peer's close_notify not awaited
    if (auto ec = co_await settle(ret)) co_return *ec;
  }
}

}  // namespace gatehouse::tls
