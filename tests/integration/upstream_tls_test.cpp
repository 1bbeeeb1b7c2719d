// Re-encryption to an upstream that speaks TLS and itself requires a client certificate.
#include <gtest/gtest.h>

#include <mutex>

#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::Purpose;

class UpstreamTls : public testing::Test {
 protected:
  void SetUp() override {
    const Cert& inter = proxy.intermediate();
    Cert server = make_leaf({.cn = "app.internal", .sans = {"dns:app.internal"}, .purpose = Purpose::server}, &inter);
    Cert client = make_leaf({.cn = "gatehouse-edge", .o = {"Acme Test"}, .purpose = Purpose::client}, &inter);
    write_chain(proxy.dir(), "gh-client.pem", {&client, &inter});
    write_key(proxy.dir(), "gh-client.key", client);
    // The upstream: TLS 1.3 server that requires a client certificate from the same private root.
    ctx.reset(SSL_CTX_new(TLS_method()));
    SSL_CTX_use_certificate(ctx.get(), server.x509.get());
    SSL_CTX_add1_chain_cert(ctx.get(), inter.x509.get());
    SSL_CTX_use_PrivateKey(ctx.get(), server.key.get());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), proxy.root().x509.get());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }

  TestUpstream::Handler tls_echo() {
    return [this](int fd) {
      bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
      SSL_set_fd(ssl.get(), fd);
      if (SSL_accept(ssl.get()) != 1) return;
      bssl::UniquePtr<X509> peer(SSL_get_peer_certificate(ssl.get()));
      {
        std::lock_guard lock(mutex);
        seen_client = peer ? tls::subject_line(peer.get()) : "";
      }
      char buf[4096];
      int n = 0;
      while ((n = SSL_read(ssl.get(), buf, sizeof buf)) > 0) SSL_write(ssl.get(), buf, n);
      SSL_shutdown(ssl.get());
    };
  }

  void start(const std::string& server_name) {
    ProxyConfig config;
    config.endpoints = {upstream.endpoint()};
    config.upstream_extra =
        "tls = { ca = \"root.pem\", cert = \"gh-client.pem\", key = \"gh-client.key\", "
        "server_name = \"" +
        server_name + "\" }";
    proxy.start(config);
  }

  ProxyHarness proxy;
  bssl::UniquePtr<SSL_CTX> ctx;
  std::mutex mutex;
  std::string seen_client;
  TestUpstream upstream{tls_echo()};
};

TEST_F(UpstreamTls, ReEncryptsWithGatehousesOwnClientCertificate) {
  start("app.internal");
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("through two TLS hops"));
  client.close_send();
  EXPECT_EQ(client.read_all().value_or("<error>"), "through two TLS hops");
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen_client, "CN=gatehouse-edge,O=Acme Test");
}

TEST_F(UpstreamTls, UpstreamWithTheWrongNameIsRefused) {
  start("billing.internal");
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  client.send("hello?");
  EXPECT_EQ(client.read_all().value_or("<error>"), "");
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "upstream_unavailable");
  EXPECT_NE(log[0]["detail"].get<std::string>().find("failed: "), std::string::npos) << log[0].dump();
  EXPECT_EQ(log[0]["close"], "upstream_tls_failed");
}

}  // namespace
}  // namespace gatehouse::test
