// The clients people really use: curl and openssl s_client, through the proxy.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

std::string url(const ProxyHarness& p) { return "https://localhost:" + std::to_string(p.port()) + "/"; }

TEST(RealClients, CurlWithTesterCertificateSeesWhoami) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  auto d = proxy.dir().path().string();
  auto r = run_command("curl -sS --max-time 10 --cacert " + d + "/root.pem --cert " + d + "/alice-chain.pem --key " +
                       d + "/alice.key " + url(proxy));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Hello, alice!"), std::string::npos) << r.output;

  auto json = run_command("curl -sS --max-time 10 -H 'Accept: application/json' --cacert " + d + "/root.pem --cert " +
                          d + "/alice-chain.pem --key " + d + "/alice.key " + url(proxy));
  auto body = nlohmann::json::parse(json.output, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << json.output;
  EXPECT_EQ(body["cn"], "alice");
  EXPECT_EQ(body["email"][0], "alice@example.com");
}

TEST(RealClients, CurlWithoutCertificateIsRefused) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  auto r = run_command("curl -sS --max-time 10 --cacert " + proxy.dir().path().string() + "/root.pem " + url(proxy));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("Hello"), std::string::npos) << r.output;
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "no_certificate");
}

// Chrome offers a client certificate only if it chains to a name in the CertificateRequest: a
// tester with a leaf-only .p12 is offered nothing unless the configured intermediates are named.
TEST(RealClients, TheCertificateRequestNamesTheRootAndTheConfiguredIntermediates) {
  for (bool intermediates : {true, false}) {
    SCOPED_TRACE(intermediates ? "client_intermediates configured" : "no client_intermediates");
    ProxyHarness proxy;
    proxy.start({.configure_intermediates = intermediates});
    auto r = run_command("timeout 10 openssl s_client -tls1_3 -connect 127.0.0.1:" + std::to_string(proxy.port()) +
                         " -servername localhost -CAfile " + proxy.dir().path().string() + "/root.pem </dev/null");
    auto names = r.output.substr(std::min(r.output.find("Acceptable client certificate CA names"), r.output.size()));
    names = names.substr(0, names.find("---"));
    EXPECT_NE(names.find("CN = Test Root CA"), std::string::npos) << r.output;
    EXPECT_EQ(names.find("CN = Test Intermediate CA") != std::string::npos, intermediates) << r.output;
  }
}

TEST(RealClients, OpensslSClientThroughToAnUpstream) {
  // Answers one line, then closes, so s_client ends when the conversation does.
  TestUpstream upstream([](int fd) {
    std::string line;
    char c = 0;
    while (line.find('\n') == std::string::npos && ::read(fd, &c, 1) == 1) line += c;
    write_all_fd(fd, "upstream got: " + line);
  });
  ProxyHarness proxy;
  proxy.start({.endpoints = {upstream.endpoint()}});
  auto d = proxy.dir().path().string();
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    auto r = run_command("echo ping-through-gatehouse | timeout 10 openssl s_client -quiet " + std::string(version) +
                         " -connect 127.0.0.1:" + std::to_string(proxy.port()) + " -servername localhost -CAfile " + d +
                         "/root.pem -verify_return_error -cert " + d + "/alice.pem -key " + d + "/alice.key");
    EXPECT_EQ(r.exit_code, 0) << version << ": " << r.output;
    EXPECT_NE(r.output.find("upstream got: ping-through-gatehouse"), std::string::npos) << version << ": " << r.output;
  }
}

TEST(RealClients, TheServersOrderOfTls12SuitesWins) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  auto d = proxy.dir().path().string();
  // The client prefers ChaCha20 and AES-256; Gatehouse's first choice, AES-128-GCM, is used
  // (what testssl checks as "cipher order").
  auto r = run_command(
      "echo | timeout 10 openssl s_client -tls1_2 -cipher "
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256 "
      "-connect 127.0.0.1:" +
      std::to_string(proxy.port()) + " -servername localhost -cert " + d + "/alice.pem -key " + d + "/alice.key");
  EXPECT_NE(r.output.find("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"), std::string::npos) << r.output;
}

TEST(RealClients, OpensslSClientWithForeignCertificateIsToldUnknownCa) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  Cert other_root = make_root("Elsewhere Root", "Elsewhere");
  Cert eve = make_leaf({.cn = "eve", .o = {"Elsewhere"}}, &other_root);
  auto chain = write_chain(proxy.dir(), "eve.pem", {&eve});
  auto key = write_key(proxy.dir(), "eve.key", eve);
  auto r = run_command(
      "echo hi | timeout 10 openssl s_client -quiet -tls1_2 -connect 127.0.0.1:" + std::to_string(proxy.port()) +
      " -servername localhost -cert " + chain.string() + " -key " + key.string());
  EXPECT_NE(r.output.find("unknown ca"), std::string::npos) << r.output;
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "untrusted_issuer");
  EXPECT_EQ(log[0]["failed_issuer"], "CN=Elsewhere Root,O=Elsewhere");
}

}  // namespace
}  // namespace gatehouse::test
