// What a client certificate can carry past Gatehouse: its size is capped in the handshake
// (client_cert_too_large), a PROXY v2 header stays consistent whatever the certificate's size,
// and a subject with several CNs is refused (several_common_names) rather than read two ways.
#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>

#include "proxy/proxy_protocol.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::CertSpec;
using tls::pki::Purpose;

// A client certificate of about `bytes` bytes (DNS SANs as padding), issued by the harness's
// intermediate; writes NAME-chain.pem and NAME.key.
std::size_t mint_big_client(const ProxyHarness& proxy, const std::string& name, std::size_t bytes) {
  CertSpec spec{.cn = name, .o = {"Acme Test"}, .purpose = Purpose::client};
  for (std::size_t i = 0; spec.sans.size() * 64 < bytes; ++i)
    spec.sans.push_back("dns:h" + std::to_string(i) + "." + std::string(50, 'p') + ".example");
  Cert leaf = make_leaf(spec, &proxy.intermediate());
  write_chain(proxy.dir(), name + "-chain.pem", {&leaf, &proxy.intermediate()});
  write_key(proxy.dir(), name + ".key", leaf);
  return static_cast<std::size_t>(i2d_X509(leaf.x509.get(), nullptr));
}

std::size_t be16(const std::string& s, std::size_t at) {
  return static_cast<std::size_t>(static_cast<std::uint8_t>(s[at])) << 8 | static_cast<std::uint8_t>(s[at + 1]);
}

std::string admin_metrics(std::uint16_t port) {
  int fd = connect_tcp(port);
  write_all_fd(fd, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  std::string all = read_until_eof(fd);
  ::close(fd);
  return all;
}

TEST(IdentityBoundary, AClientCertificateOverMaxClientCertSizeIsRefusedInTheHandshake) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});  // default limit: 16 KiB
  const std::size_t size = mint_big_client(proxy, "big", 20 * 1000);
  ASSERT_GT(size, 16u * 1024);
  mint_big_client(proxy, "huge", 70 * 1000);  // past the limit and its framing: BoringSSL refuses the message
  for (const std::string name : {"big", "huge"}) {
    TlsClient client(proxy.client(name + "-chain.pem", name + ".key"));
    client.connect();
    client.send("GET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(client.read_all().value_or(""), "") << name << " got through";
  }
  auto log = proxy.wait_for_log(2);
  ASSERT_EQ(log.size(), 2u);
  for (const auto& line : log) {
    EXPECT_EQ(line["reason"], "client_cert_too_large") << line.dump();
    EXPECT_EQ(line["decision"], "deny") << line.dump();
    EXPECT_NE(line["detail"].get<std::string>().find("more than max_client_cert_size (16384 bytes)"), std::string::npos)
        << line.dump();
  }
  // The leaf and the intermediate it sent, counted exactly.
  const std::size_t sent = size + static_cast<std::size_t>(i2d_X509(proxy.intermediate().x509.get(), nullptr));
  EXPECT_NE(
      log[0]["detail"].get<std::string>().find("the client sent " + std::to_string(sent) + " bytes of certificates"),
      std::string::npos)
      << log[0].dump();
  EXPECT_EQ(proxy.totals().refused_for(gatehouse::Reason::client_cert_too_large), 2u);
}

TEST(IdentityBoundary, ACertificateOver64KiBLeavesItsTlvOutOfAConsistentProxyHeader) {
  std::mutex mutex;
  std::string received;
  TestUpstream up([&](int fd) {
    std::string all = read_until_eof(fd);
    std::lock_guard lock(mutex);
    received = all;
  });
  ProxyHarness proxy;
  ProxyConfig config;
  config.endpoints = {up.endpoint()};
  config.listener_extra = "proxy_protocol = \"v2\"";
  config.tls_extra = "  max_client_cert_size = 100000";
  proxy.start(config);
  ASSERT_GT(mint_big_client(proxy, "huge", 70 * 1000), 65535u);

  const std::string client_bytes = "GET / HTTP/1.1\r\nHost: x\r\n\r\nonly these bytes, nothing of the certificate";
  TlsClient client(proxy.client("huge-chain.pem", "huge.key"));
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send(client_bytes));
  client.close_send();
  client.read_all();  // until the upstream has read everything and closed

  std::lock_guard lock(mutex);
  ASSERT_GE(received.size(), 16u + 12u) << "nothing reached the upstream";
  const std::size_t header = 16 + be16(received, 14);
  ASSERT_LE(header, received.size());
  auto parsed = proxy::parse_proxy_header(reinterpret_cast<const std::uint8_t*>(received.data()), received.size());
  ASSERT_EQ(parsed.status, proxy::ReceivedProxyHeader::Status::complete) << parsed.error;
  EXPECT_EQ(parsed.length, header);
  EXPECT_EQ(received.substr(header), client_bytes)
      << "the upstream must get exactly the client's bytes after the header";
  // The SSL TLV is the last TLV and ends exactly where the header does; no client-certificate sub-TLV.
  std::size_t at = 16 + 12;
  std::string ssl;
  while (at + 3 <= header) {
    std::size_t len = be16(received, at + 1);
    ASSERT_LE(at + 3 + len, header) << "a TLV runs past the header";
    if (static_cast<std::uint8_t>(received[at]) == proxy::kPp2TypeSsl) ssl = received.substr(at + 3, len);
    at += 3 + len;
  }
  EXPECT_EQ(at, header);
  ASSERT_GE(ssl.size(), 5u);
  bool has_cn = false;
  for (std::size_t s = 5; s + 3 <= ssl.size();) {
    std::size_t len = be16(ssl, s + 1);
    ASSERT_LE(s + 3 + len, ssl.size()) << "a sub-TLV runs past the SSL TLV";
    EXPECT_NE(static_cast<std::uint8_t>(ssl[s]), proxy::kPp2SubtypeSslClientCert);
    has_cn |= static_cast<std::uint8_t>(ssl[s]) == proxy::kPp2SubtypeSslCn && ssl.substr(s + 3, len) == "huge";
    s += 3 + len;
  }
  EXPECT_TRUE(has_cn);
  EXPECT_NE(
      admin_metrics(proxy.server().admin_port()).find("gatehouse_proxy_tlv_dropped_total{tlv=\"ssl_client_cert\"} 1"),
      std::string::npos);
}

TEST(IdentityBoundary, ASubjectWithSeveralCommonNamesIsRefused) {
  ProxyHarness proxy;
  ProxyConfig config;
  // Were "the CN" read two ways, one of these rules would let it in.
  config.routes = "  [[listener.route]]\n  upstream = \"app\"\n  allow = [ { cn = \"admin\" }, { cn = \"alice\" } ]\n";
  proxy.start(config);
  bssl::UniquePtr<X509_NAME> subject(X509_NAME_new());
  for (const char* cn : {"alice", "admin"})
    ASSERT_TRUE(X509_NAME_add_entry_by_NID(subject.get(), NID_commonName, MBSTRING_UTF8,
                                           reinterpret_cast<const std::uint8_t*>(cn), -1, -1, 0));
  Cert leaf;
  leaf.key = tls::pki::generate_key(tls::pki::KeyType::ecdsa_p256);
  auto issued =
      tls::pki::issue_certificate(CertSpec{.purpose = Purpose::client}, leaf.key.get(), proxy.intermediate().x509.get(),
                                  proxy.intermediate().key.get(), subject.get());
  ASSERT_TRUE(issued) << issued.error();
  leaf.x509 = std::move(*issued);
  write_chain(proxy.dir(), "two-cns-chain.pem", {&leaf, &proxy.intermediate()});
  write_key(proxy.dir(), "two-cns.key", leaf);

  TlsClient client(proxy.client("two-cns-chain.pem", "two-cns.key"));
  client.connect();
  client.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(client.read_all().value_or(""), "");
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "several_common_names") << log[0].dump();
  EXPECT_NE(log[0]["detail"].get<std::string>().find("has 2 common names"), std::string::npos) << log[0].dump();
  // A single-CN client is still served.
  TlsClient alice(proxy.client());
  ASSERT_TRUE(alice.connect()) << alice.error();
  alice.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_NE(alice.read_all().value_or("").find("Hello, alice"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::test
