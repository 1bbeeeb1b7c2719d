// Accepted clients: a tester certificate under the private root, with and without its
// intermediate, over TLS 1.2 and 1.3, ECDSA and RSA server certificates, IPv4 and IPv6.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

struct Case {
  const char* family;
  std::uint16_t version;
  bool rsa_client;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.family << (c.version == TLS1_3_VERSION ? " TLS1.3" : " TLS1.2") << (c.rsa_client ? " RSA-only client" : "");
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return std::string(info.param.family) + (info.param.version == TLS1_3_VERSION ? "_tls13" : "_tls12") +
         (info.param.rsa_client ? "_rsa" : "_ecdsa");
}

class HandshakeMatrix : public testing::TestWithParam<Case> {};

// "127.0.0.1:PORT" or "[::1]:PORT", as the access log writes a client's address.
std::string address_text(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
  inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
}

// The proxy's end of the connection from `client_address` (the server runs in this process):
// whether Nagle's algorithm is off on it; nullopt when no such socket is open.
std::optional<bool> accepted_socket_has_nodelay(const std::string& client_address) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  std::optional<bool> found;
  while (dirent* entry = readdir(dir)) {
    const int fd = atoi(entry->d_name);
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (fd <= 2 || getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (address_text(peer) != client_address) continue;
    int on = 0;
    socklen_t on_len = sizeof on;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &on_len) == 0) found = on != 0;
  }
  closedir(dir);
  return found;
}

TEST_P(HandshakeMatrix, TesterCertificateGetsThroughToWhoami) {
  const Case c = GetParam();
  ProxyHarness proxy;
  ProxyConfig config;
  config.listen = std::string(c.family) == "ipv6" ? "[::1]:0" : "127.0.0.1:0";
  proxy.start(config);

  ClientOptions opt = proxy.client();
  opt.host = std::string(c.family) == "ipv6" ? "::1" : "127.0.0.1";
  opt.min_version = opt.max_version = c.version;
  opt.rsa_only = c.rsa_client;
  TlsClient client(opt);
  ASSERT_TRUE(client.connect()) << client.error();
  // Handshake done, so the proxy holds its end. The address accept() gave is the client's own,
  // and the accepted socket sends small writes at once (TCP_NODELAY, set on the listener and
  // inherited by every connection).
  sockaddr_storage ours{};
  socklen_t ours_len = sizeof ours;
  ASSERT_EQ(getsockname(SSL_get_fd(client.ssl()), reinterpret_cast<sockaddr*>(&ours), &ours_len), 0);
  const std::string client_address = address_text(ours);
  EXPECT_EQ(accepted_socket_has_nodelay(client_address), std::optional<bool>(true));

  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto response = client.read_all();
  ASSERT_TRUE(response) << client.error();
  EXPECT_NE(response->find("Hello, alice!"), std::string::npos) << *response;
  EXPECT_NE(response->find("OU=testers"), std::string::npos);

  // The server chain is complete (leaf + intermediate) and of the key type the client can use.
  EXPECT_EQ(SSL_version(client.ssl()), c.version);
  bssl::UniquePtr<X509> leaf(SSL_get_peer_certificate(client.ssl()));
  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(leaf.get()));
  EXPECT_EQ(EVP_PKEY_id(key.get()), c.rsa_client ? EVP_PKEY_RSA : EVP_PKEY_EC);
  EXPECT_EQ(sk_X509_num(SSL_get_peer_cert_chain(client.ssl())), 2u);

  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["client"], client_address);
  EXPECT_EQ(log[0]["decision"], "allow");
  EXPECT_EQ(log[0]["reason"], "ok");
  EXPECT_EQ(log[0]["subject"], "CN=alice,OU=testers,O=Acme Test");
  EXPECT_EQ(log[0]["tls_version"], c.version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2");
  EXPECT_EQ(log[0]["close"], "done");
  EXPECT_EQ(proxy.totals().handshakes_ok, 1u);
}

INSTANTIATE_TEST_SUITE_P(All, HandshakeMatrix,
                         testing::Values(Case{"ipv4", TLS1_3_VERSION, false}, Case{"ipv4", TLS1_2_VERSION, false},
                                         Case{"ipv4", TLS1_3_VERSION, true}, Case{"ipv4", TLS1_2_VERSION, true},
                                         Case{"ipv6", TLS1_3_VERSION, false}, Case{"ipv6", TLS1_2_VERSION, true}),
                         case_name);

TEST(Handshake, ClientMayLeaveOutTheConfiguredIntermediate) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  TlsClient client(proxy.client("alice.pem"));  // leaf only
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
  auto response = client.read_all();
  ASSERT_TRUE(response) << client.error();
  EXPECT_NE(response->find("Hello, alice!"), std::string::npos);
}

TEST(Handshake, TlsOneTwoOnlyListenerRefusesNothingButSpeaksOneTwo) {
  ProxyHarness proxy;
  ProxyConfig config;
  config.max_version = "1.2";
  proxy.start(config);
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  EXPECT_EQ(SSL_version(client.ssl()), TLS1_2_VERSION);
  // Only AEAD suites with forward secrecy are ever negotiated.
  const SSL_CIPHER* cipher = SSL_get_current_cipher(client.ssl());
  EXPECT_TRUE(SSL_CIPHER_is_aead(cipher));
  EXPECT_EQ(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe);
}

TEST(Handshake, ServerCertificateIsChosenBySni) {
  ProxyHarness proxy;
  Cert other = make_leaf(
      {.cn = "other", .o = {"Acme Test"}, .sans = {"dns:*.other.example"}, .purpose = tls::pki::Purpose::server},
      &proxy.intermediate());
  write_chain(proxy.dir(), "other.pem", {&other, &proxy.intermediate()});
  write_key(proxy.dir(), "other.key", other);
  ProxyConfig config;
  config.extra_certificates = {{"other.pem", "other.key"}};
  proxy.start(config);
  for (auto [sni, subject] :
       {std::pair{"app.other.example", "CN=other,O=Acme Test"}, std::pair{"localhost", "CN=localhost,O=Acme Test"},
        std::pair{"unknown.example", "CN=other,O=Acme Test"}}) {  // no match: the first
    ClientOptions opt = proxy.client();
    opt.sni = sni;
    opt.server_ca.clear();  // names differ on purpose; the subject is what we check
    TlsClient client(opt);
    ASSERT_TRUE(client.connect()) << sni << ": " << client.error();
    EXPECT_EQ(client.server_leaf_subject(), subject) << sni;
  }
}

TEST(Handshake, ClientVanishingMidHandshakeIsLoggedAndHarmless) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  int fd = connect_tcp(proxy.port());
  ASSERT_GE(fd, 0);
  const unsigned char partial_record[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};  // a ClientHello, cut short
  ASSERT_EQ(::write(fd, partial_record, sizeof partial_record), static_cast<ssize_t>(sizeof partial_record));
  ::close(fd);
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "client_closed");  // the client left: not a refusal
  EXPECT_EQ(log[0]["decision"], "none");
  EXPECT_EQ(log[0]["detail"], "the client closed the connection during the handshake");
  TlsClient client(proxy.client());
  EXPECT_TRUE(client.connect()) << client.error();
}

TEST(Handshake, OldProtocolVersionsAreRefused) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  ClientOptions opt = proxy.client();
  opt.min_version = TLS1_VERSION;
  opt.max_version = TLS1_1_VERSION;
  TlsClient client(opt);
  EXPECT_FALSE(client.connect());
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "protocol_error");
}

}  // namespace
}  // namespace gatehouse::test
