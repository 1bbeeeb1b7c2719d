// Routes by SNI to different upstreams with different policies, decided in the handshake.
#include <gtest/gtest.h>

#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

class Routing : public testing::Test {
 protected:
  void SetUp() override {
    proxy.start_text(R"([server]
workers = 1
[log]
level = "warn"
[[listener]]
name = "edge"
listen = "127.0.0.1:0"
  [listener.tls]
  certificates = [ { cert = "server-ecdsa.pem", key = "server-ecdsa.key" } ]
  client_ca = "root.pem"
  client_intermediates = "inter.pem"
  [[listener.route]]
  name = "staging"
  sni = ["staging.test", "*.staging.test"]
  upstream = "whoami"
  allow = [ { ou = "developers" }, { ou = "testers", o = "Acme Test" } ]
  [[listener.route]]
  name = "uat"
  sni = ["uat.test"]
  upstream = "uat-app"
  allow = [ { ou = "uat-testers" } ]
  deny = [ { cn = "mallory" } ]
[[upstream]]
name = "whoami"
endpoints = ["builtin:whoami"]
[[upstream]]
name = "uat-app"
endpoints = [")" + uat.endpoint() +
                         R"("]
)",
                     proxy.dir().path());
  }

  // Sends a request with `sni`; returns the response ("" when refused) and the alert seen.
  std::pair<std::string, int> request(const std::string& sni) {
    ClientOptions opt = proxy.client();
    opt.sni = sni;
    TlsClient client(opt);
    std::string body;
    if (client.connect()) {
      client.send("GET / HTTP/1.0\r\n\r\n");
      client.close_send();
      body = client.read_all().value_or("");
    }
    return {body, client.alert()};
  }

  TestUpstream uat{TestUpstream::echo()};
  ProxyHarness proxy;
};

TEST_F(Routing, ATesterAdmittedToStagingIsRefusedAtUat) {
  auto [staging, staging_alert] = request("app.staging.test");
  EXPECT_NE(staging.find("Hello, alice!"), std::string::npos) << staging;
  EXPECT_EQ(staging_alert, -1);

  auto [uat_body, uat_alert] = request("uat.test");
  EXPECT_EQ(uat_body, "");
  EXPECT_EQ(uat_alert, SSL_AD_ACCESS_DENIED);
  EXPECT_EQ(uat.accepted(), 0);  // the upstream never saw the refused client

  auto log = proxy.wait_for_log(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["route"], "staging");
  EXPECT_EQ(log[0]["rule"], "allow[1]");
  EXPECT_EQ(log[0]["upstream"], "whoami");
  EXPECT_EQ(log[1]["decision"], "deny");
  EXPECT_EQ(log[1]["reason"], "policy_denied");
  EXPECT_EQ(log[1]["rule"], "no allow rule matched");
  EXPECT_EQ(log[1]["detail"], "not allowed on route 'uat' (no allow rule matched)");
  EXPECT_EQ(log[1]["subject"], "CN=alice,OU=testers,O=Acme Test");  // who was refused
  EXPECT_EQ(proxy.totals().refused_for(gatehouse::Reason::policy_denied), 1u);
  // And the per-route decision counters.
  EXPECT_EQ(proxy.server().authz_allowed(0, 0), 1u);
  EXPECT_EQ(proxy.server().authz_refused(0, 0, gatehouse::Reason::policy_denied), 0u);
  EXPECT_EQ(proxy.server().authz_allowed(0, 1), 0u);
  EXPECT_EQ(proxy.server().authz_refused(0, 1, gatehouse::Reason::policy_denied), 1u);
}

TEST_F(Routing, UnknownServerNameWithoutDefaultRouteIsRefused) {
  auto [body, alert] = request("elsewhere.test");
  EXPECT_EQ(body, "");
  EXPECT_EQ(alert, SSL_AD_ACCESS_DENIED);
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "policy_denied");
  EXPECT_EQ(log[0]["detail"], "no route for the server name 'elsewhere.test' and no default route");
  EXPECT_EQ(proxy.server().authz_refused(0, -1, gatehouse::Reason::policy_denied), 1u);
}

}  // namespace
}  // namespace gatehouse::test
