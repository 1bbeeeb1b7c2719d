#include "tests/support/tls_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/sha.h>

#include <cstring>
#include <vector>

#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {

std::string TlsClient::alpn_selected() const {
  const uint8_t* data = nullptr;
  unsigned len = 0;
  if (ssl_) SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string sha256_hex(const std::string& data) {
  uint8_t d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), d);
  return tls::hex(d, sizeof d);
}

TlsClient::TlsClient(ClientOptions options) : opt_(std::move(options)) {}

TlsClient::~TlsClient() {
  ssl_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void TlsClient::on_info(const SSL* ssl, int where, int ret) {
  // Fatal alerts only: a close_notify is a warning-level alert and no refusal.
  if ((where & SSL_CB_READ_ALERT) && (ret >> 8) == SSL3_AL_FATAL)
    static_cast<TlsClient*>(SSL_get_app_data(ssl))->alert_ = ret & 0xff;
}

int TlsClient::on_new_session(SSL* ssl, SSL_SESSION* session) {
  static_cast<TlsClient*>(SSL_get_app_data(ssl))->session_.reset(session);
  return 1;  // we keep the reference
}

void TlsClient::fail(const char* what) { error_ = std::string(what) + ": " + tls::drain_errors(); }

bool TlsClient::connect() {
  ctx_.reset(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(ctx_.get(), opt_.min_version);
  SSL_CTX_set_max_proto_version(ctx_.get(), opt_.max_version);
  SSL_CTX_set_info_callback(ctx_.get(), &TlsClient::on_info);
  SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(ctx_.get(), &TlsClient::on_new_session);
  if (opt_.rsa_only) {
    static const uint16_t kRsa[] = {SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_RSA_PKCS1_SHA256};
    SSL_CTX_set_verify_algorithm_prefs(ctx_.get(), kRsa, 2);
    SSL_CTX_set_strict_cipher_list(ctx_.get(), "ECDHE-RSA-AES128-GCM-SHA256");
  }
  if (!opt_.cert_chain.empty()) {
    if (!SSL_CTX_use_certificate_chain_file(ctx_.get(), opt_.cert_chain.c_str()) ||
        !SSL_CTX_use_PrivateKey_file(ctx_.get(), opt_.key.c_str(), SSL_FILETYPE_PEM)) {
      fail("client certificate");
      return false;
    }
  }
  if (!opt_.server_ca.empty()) {
    SSL_CTX_load_verify_locations(ctx_.get(), opt_.server_ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* res = nullptr;
  if (getaddrinfo(opt_.host.c_str(), std::to_string(opt_.port).c_str(), &hints, &res) != 0) {
    error_ = "bad host";
    return false;
  }
  fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{opt_.timeout_ms / 1000, (opt_.timeout_ms % 1000) * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc = ::connect(fd_, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  if (!opt_.preface.empty() && ::send(fd_, opt_.preface.data(), opt_.preface.size(), MSG_NOSIGNAL) !=
                                   static_cast<ssize_t>(opt_.preface.size())) {
    error_ = std::string("preface: ") + std::strerror(errno);
    return false;
  }
  ssl_.reset(SSL_new(ctx_.get()));
  SSL_set_app_data(ssl_.get(), this);
  if (!opt_.sni.empty()) SSL_set_tlsext_host_name(ssl_.get(), opt_.sni.c_str());
  SSL_set_fd(ssl_.get(), fd_);
  if (opt_.resume) SSL_set_session(ssl_.get(), opt_.resume);
  if (!opt_.alpn.empty()) {
    std::string wire;
    for (const auto& name : opt_.alpn) wire += static_cast<char>(name.size()) + name;
    SSL_set_alpn_protos(ssl_.get(), reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  }
  if (SSL_connect(ssl_.get()) != 1) {
    fail("handshake");
    return false;
  }
  return true;
}

bool TlsClient::send(const std::string& data) {
  if (data.empty()) return true;
  if (SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size())) != static_cast<int>(data.size())) {
    fail("write");
    return false;
  }
  return true;
}

std::optional<std::string> TlsClient::read_some() {
  char buf[16384];
  int n = SSL_read(ssl_.get(), buf, sizeof buf);
  if (n > 0) return std::string(buf, static_cast<size_t>(n));
  int err = SSL_get_error(ssl_.get(), n);
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && n == 0)) {
    peer_closed_ = true;
    return std::string();
  }
  fail("read");
  return std::nullopt;
}

std::optional<std::string> TlsClient::read_all() {
  std::string out;
  for (;;) {
    auto chunk = read_some();
    if (!chunk) return std::nullopt;
    if (chunk->empty()) return out;
    out += *chunk;
  }
}

void TlsClient::close_send() { SSL_shutdown(ssl_.get()); }

bool TlsClient::readable() const {
  if (ssl_ && SSL_pending(ssl_.get()) > 0) return true;
  pollfd p{fd_, POLLIN, 0};
  return fd_ >= 0 && ::poll(&p, 1, 0) > 0;
}

std::string TlsClient::server_leaf_subject() const {
  bssl::UniquePtr<X509> leaf(SSL_get_peer_certificate(ssl_.get()));
  return leaf ? tls::subject_line(leaf.get()) : "";
}

bool TlsClient::transfer(std::size_t bytes, std::string& sent_sha256, std::string& received_sha256,
                         std::size_t& received_bytes) {
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  std::vector<uint8_t> chunk(16384);
  uint32_t x = 12345;  // xorshift: cheap, deterministic content
  SHA256_CTX sent, got;
  SHA256_Init(&sent);
  SHA256_Init(&got);
  std::size_t sent_bytes = 0, pending = 0;
  bool shut = false;
  received_bytes = 0;
  for (;;) {
    bool want_read = true, want_write = false, progress = false;
    if (sent_bytes < bytes) {
      if (pending == 0) {
        pending = std::min(chunk.size(), bytes - sent_bytes);
        for (size_t i = 0; i < pending; i += 4) {
          x ^= x << 13, x ^= x >> 17, x ^= x << 5;
          std::memcpy(&chunk[i], &x, std::min<size_t>(4, pending - i));
        }
      }
      int n = SSL_write(ssl_.get(), chunk.data(), static_cast<int>(pending));
      if (n > 0) {
        SHA256_Update(&sent, chunk.data(), static_cast<size_t>(n));
        sent_bytes += static_cast<size_t>(n);
        pending = 0;
        progress = true;
      } else {
        int e = SSL_get_error(ssl_.get(), n);
        if (e == SSL_ERROR_WANT_WRITE)
          want_write = true;
        else if (e != SSL_ERROR_WANT_READ)
          return fail("transfer write"), false;
      }
    } else if (!shut) {
      SSL_shutdown(ssl_.get());
      shut = true;
    }
    uint8_t buf[16384];
    int n = SSL_read(ssl_.get(), buf, sizeof buf);
    if (n > 0) {
      SHA256_Update(&got, buf, static_cast<size_t>(n));
      received_bytes += static_cast<size_t>(n);
      progress = true;
    } else {
      int e = SSL_get_error(ssl_.get(), n);
      if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && n == 0)) {
        if (sent_bytes < bytes) return error_ = "peer closed early", false;
        break;
      }
      if (e == SSL_ERROR_WANT_WRITE)
        want_write = true;
      else if (e != SSL_ERROR_WANT_READ)
        return fail("transfer read"), false;
    }
    if (progress) continue;
    pollfd p{fd_, static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, opt_.timeout_ms) <= 0) return error_ = "transfer stalled", false;
  }
  uint8_t d[SHA256_DIGEST_LENGTH];
  SHA256_Final(d, &sent);
  sent_sha256 = tls::hex(d, sizeof d);
  SHA256_Final(d, &got);
  received_sha256 = tls::hex(d, sizeof d);
  return true;
}

bool get_ok(const ClientOptions& options) {
  TlsClient client(options);
  if (!client.connect()) return false;
  client.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  auto all = client.read_all();
  return all && all->find("200 OK") != std::string::npos;
}

std::string read_response(TlsClient& client) {
  std::string got;
  for (;;) {
    auto end = got.find("\r\n\r\n");
    auto cl = got.find("Content-Length: ");
    if (end != std::string::npos && cl != std::string::npos && got.size() >= end + 4 + std::stoul(got.substr(cl + 16)))
      return got;
    auto more = client.read_some();
    if (!more || more->empty()) return got;
    got += *more;
  }
}

}  // namespace gatehouse::test
