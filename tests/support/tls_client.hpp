// A real BoringSSL client for tests: presents a chosen certificate, restricts versions and key
// types, records the alert the server sent, and moves bulk data both ways at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tls/bssl.hpp"

namespace gatehouse::test {

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::filesystem::path cert_chain;  // empty: no client certificate
  std::filesystem::path key;
  std::filesystem::path server_ca;  // empty: do not check the server
  std::string sni = "localhost";
  std::uint16_t min_version = TLS1_2_VERSION;
  std::uint16_t max_version = TLS1_3_VERSION;
  bool rsa_only = false;          // offer only RSA signature algorithms and suites
  int timeout_ms = 10000;         // guard against a hung test, never a sleep
  SSL_SESSION* resume = nullptr;  // a session to offer for resumption (not owned)
  std::string preface;            // bytes sent before the handshake (a PROXY protocol header)
  std::vector<std::string> alpn;  // protocols offered by ALPN, in order; empty: no ALPN extension
};

class TlsClient {
 public:
  explicit TlsClient(ClientOptions options);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connect();  // TCP connect and TLS handshake
  bool send(const std::string& data);
  // Reads until the peer closes (close_notify or TCP close); nullopt on a TLS error.
  std::optional<std::string> read_all();
  std::optional<std::string> read_some();
  void close_send();      // our close_notify; reading goes on
  bool readable() const;  // bytes from the peer are waiting (never blocks)

  // Sends `bytes` of deterministic data while reading whatever comes back until the peer
  // closes; SHA-256 of both directions. False on any error.
  bool transfer(std::size_t bytes, std::string& sent_sha256, std::string& received_sha256, std::size_t& received_bytes);

  int alert() const { return alert_; }  // last fatal alert received from the server, -1 if none
  SSL* ssl() const { return ssl_.get(); }
  std::string alpn_selected() const;  // what the server chose by ALPN; empty: nothing
  const std::string& error() const { return error_; }
  std::string server_leaf_subject() const;
  bool peer_closed() const { return peer_closed_; }
  // The last session (ticket) the server gave us, for a later TlsClient to resume.
  SSL_SESSION* session() const { return session_.get(); }

 private:
  static void on_info(const SSL* ssl, int where, int ret);
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  void fail(const char* what);

  ClientOptions opt_;
  int fd_ = -1;
  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL> ssl_;
  bssl::UniquePtr<SSL_SESSION> session_;
  int alert_ = -1;
  bool peer_closed_ = false;
  std::string error_;
};

std::string sha256_hex(const std::string& data);
// A GET over a fresh connection with `options` (Connection: close); true when it was answered 200.
bool get_ok(const ClientOptions& options);

// One HTTP response with a Content-Length, read without waiting for the connection to close.
std::string read_response(TlsClient& client);

}  // namespace gatehouse::test
