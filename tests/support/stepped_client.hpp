// A TLS client driven flight by flight over memory BIOs on a plain TCP socket, so a test can stop
// anywhere: between the bytes of a flight, before its certificate flight, before or inside its
// request, while the response comes, and end there with a FIN, a reset, or by going silent.
#pragma once

#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {

class SteppedClient {
 public:
  // Presents `chain` + `key` (PEM files); connects to 127.0.0.1:`port` unless `port` is 0.
  SteppedClient(std::uint16_t port, const std::filesystem::path& chain, const std::filesystem::path& key,
                std::uint16_t max_version)
      : ctx_(SSL_CTX_new(TLS_method())) {
    SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    SSL_CTX_use_certificate_chain_file(ctx_.get(), chain.c_str());
    SSL_CTX_use_PrivateKey_file(ctx_.get(), key.c_str(), SSL_FILETYPE_PEM);
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_tlsext_host_name(ssl_.get(), "localhost");
    SSL_set_bio(ssl_.get(), BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_connect_state(ssl_.get());
    if (port != 0) fd_ = connect_tcp(port, 5000);  // the receive timeout guards a hung test
  }
  ~SteppedClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  SteppedClient(const SteppedClient&) = delete;
  SteppedClient& operator=(const SteppedClient&) = delete;
  bool connected() const { return fd_ >= 0; }
  // Each send leaves at once, without Nagle's wait for the ACK of the one before (the proxy
  // delays it up to 40 ms). Not by default: with Nagle, a hang-up right after a flight leaves
  // before the proxy's answer arrives, so it is a FIN, where with no_delay the answer may be
  // there unread and the close a reset (DisconnectAtEveryStepOfTheHandshake expects FINs).
  void no_delay() {
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  // Runs the handshake until it wants the peer's bytes; returns what it would send.
  std::string next_flight() {
    int r = SSL_do_handshake(ssl_.get());
    done_ = r == 1;
    return pending_output();
  }
  bool send(std::string_view bytes) { return write_all_fd(fd_, std::string(bytes)); }
  // Reads one batch from the peer into the TLS engine; false on EOF, an error or the timeout.
  bool receive() {
    char buf[16384];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    BIO_write(SSL_get_rbio(ssl_.get()), buf, static_cast<int>(n));
    return true;
  }
  bool done() const { return done_; }

  // Application data once the handshake is done: the records that carry `plaintext`.
  std::string seal(std::string_view plaintext) {
    SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(plaintext.size()));
    return pending_output();
  }
  // Reads application data into `out` until `enough(out)` holds; false when the peer ended the
  // connection first (close_notify, EOF, a reset, a TLS error) or the receive timeout passed.
  template <typename Enough>
  bool read_until(std::string& out, Enough enough) {
    char buf[16384];
    while (!enough(out)) {
      int n = SSL_read(ssl_.get(), buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (SSL_get_error(ssl_.get(), n) != SSL_ERROR_WANT_READ || !receive()) return false;
    }
    return true;
  }

  // Hangs up at once (a FIN).
  void hang_up() {
    ::close(fd_);
    fd_ = -1;
  }
  // Half-closes (a FIN), then reads and drops what comes until the peer closes too.
  void finish_writing_and_drain() {
    ::shutdown(fd_, SHUT_WR);
    read_until_eof(fd_);
    hang_up();
  }
  // Closes with a reset (SO_LINGER 0): an RST instead of a FIN.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    hang_up();
  }
  // Goes silent, reading nothing, until the peer closes; false if it never did (`guard_ms`).
  bool stall_until_closed(int guard_ms = 10000) { return wait_for_peer_close(fd_, guard_ms); }
  int fd() const { return fd_; }

  // Waits until the peer of `fd` closed or reset it, without reading; false after `guard_ms`.
  static bool wait_for_peer_close(int fd, int guard_ms) {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, guard_ms) == 1;
  }

 private:
  std::string pending_output() {
    std::string out;
    char buf[16384];
    for (int n; (n = BIO_read(SSL_get_wbio(ssl_.get()), buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }

  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL> ssl_;
  int fd_ = -1;
  bool done_ = false;
};

}  // namespace gatehouse::test
