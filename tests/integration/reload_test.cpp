// Reload: a new config reaches new connections, and open ones are verified again against it; a reload that
// fails for any reason, or asks for what needs a restart, changes nothing and says why.
#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <thread>

#include "tests/support/command.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

const std::string kDenyAlice = "  [[listener.route]]\n  upstream = \"app\"\n  deny = [ { cn = \"alice\" } ]\n";

class Reload : public testing::Test {
 protected:
  void SetUp() override { proxy.start(ProxyConfig{}); }

  // A full request on a new connection: the response, or "" when refused (alert in *alert).
  std::string request(int* alert = nullptr, const ClientOptions& options = {}) {
    TlsClient client(options.port ? options : proxy.client());
    std::string body;
    if (client.connect() && client.send("GET / HTTP/1.0\r\n\r\n")) body = client.read_all().value_or("");
    if (alert) *alert = client.alert();
    return body;
  }
  std::string metrics() { return proxy.server().admin_reply("GET", "/metrics").body; }
  std::string config(const ProxyConfig& c = {}) { return proxy.config_text(c); }

  ProxyHarness proxy;
};

TEST_F(Reload, NewRulesReachNewConnectionsAndOpenOnes) {
  ASSERT_NE(request().find("Hello, alice"), std::string::npos);
  TlsClient open(proxy.client());
  ASSERT_TRUE(open.connect()) << open.error();  // verified and admitted under generation 1

  ProxyConfig deny;
  deny.routes = kDenyAlice;
  auto outcome = proxy.reload_text(config(deny), proxy.dir().path());
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_EQ(outcome.generation, 2u);
  EXPECT_EQ(proxy.server().generation(), 2u);

  int alert = -1;
  EXPECT_EQ(request(&alert), "");  // a new connection meets the new rule
  EXPECT_EQ(alert, SSL_AD_ACCESS_DENIED);
  // The open one is verified again against the new rules, and closed (revalidation_test has more).
  EXPECT_EQ(open.read_all().value_or(""), "");
  EXPECT_TRUE(open.peer_closed()) << open.error();

  auto m = metrics();
  EXPECT_NE(m.find("gatehouse_config_reloads_total{result=\"ok\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("gatehouse_config_generation 2"), std::string::npos) << m;

  // And back: a second reload lets alice in again.
  ASSERT_TRUE(proxy.reload_text(config(), proxy.dir().path()).ok);
  EXPECT_NE(request().find("Hello, alice"), std::string::npos);
}

// Pools and counters belong to the workers, by name: a reload that keeps a route and an upstream
// keeps their series counting (they used to restart from zero with every snapshot).
TEST(ReloadCounters, RouteAndUpstreamSeriesKeepCountingAcrossAReload) {
  TestUpstream upstream(TestUpstream::echo());
  ProxyHarness proxy;
  ProxyConfig c;
  c.endpoints = {upstream.endpoint()};
  proxy.start(c);
  auto echo_once = [&] {
    TlsClient client(proxy.client());
    if (!client.connect() || !client.send("ping")) return false;
    client.close_send();
    return client.read_all().value_or("") == "ping";
  };
  ASSERT_TRUE(echo_once());
  ASSERT_TRUE(echo_once());
  EXPECT_EQ(proxy.server().authz_allowed(0, 0), 2u);

  c.idle_timeout = "4m";  // a change that keeps the route and the upstream
  auto outcome = proxy.reload_text(proxy.config_text(c), proxy.dir().path());
  ASSERT_TRUE(outcome.ok) << outcome.message;
  ASSERT_TRUE(echo_once());
  EXPECT_EQ(proxy.server().authz_allowed(0, 0), 3u);
  const std::string m = proxy.server().admin_reply("GET", "/metrics").body;
  EXPECT_NE(m.find("gatehouse_upstream_connect_total{upstream=\"app\",result=\"ok\"} 3"), std::string::npos) << m;
  EXPECT_NE(
      m.find("gatehouse_authz_decisions_total{listener=\"test\",route=\"route0\",decision=\"allow\",reason=\"ok\"} 3"),
      std::string::npos)
      << m;
}

TEST_F(Reload, ABrokenReloadKeepsTheOldConfigServing) {
  proxy.dir().write("garbage-crl.pem", "-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n");
  std::string good = config();
  auto with_tls_line = [&](const std::string& line) {
    std::string text = good;
    return text.replace(text.find("  client_ca = "), 0, line + "\n");
  };
  std::string missing_cert = good;
  missing_cert.replace(missing_cert.find("\"server-ecdsa.pem\""), 18, "\"no-such-cert.pem\"");
  Cert old_root = make_leaf(
      tls::pki::CertSpec{
          .cn = "Old Root", .o = {"Acme Test"}, .not_before = -3 * 86400, .not_after = -86400, .is_ca = true},
      nullptr);
  write_chain(proxy.dir(), "old-root.pem", {&old_root});
  std::string expired_ca = good;
  expired_ca.replace(expired_ca.find("client_ca = \"root.pem\""), 22, "client_ca = \"old-root.pem\"");
  std::string wrong_key = good;
  wrong_key.replace(wrong_key.find("\"server-ecdsa.key\""), 18, "\"server-rsa.key\"");
  const std::vector<std::pair<std::string, std::string>> faults = {
      {good.substr(0, good.find("[[upstream]]")) + "[[upstream]\nname = \"app\"\n", "test.toml"},
      {missing_cert, "no-such-cert.pem"},
      {wrong_key, "server-rsa.key"},
      {expired_ca, "expired on"},
      {with_tls_line("  crl = \"garbage-crl.pem\""), "garbage-crl.pem"},
      {with_tls_line("  crl = \"missing-crl.pem\""), "missing-crl.pem"},
  };
  for (const auto& [text, named] : faults) {
    auto outcome = proxy.reload_text(text, proxy.dir().path());
    EXPECT_FALSE(outcome.ok) << named;
    EXPECT_NE(outcome.message.find(named), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("still serving generation 1"), std::string::npos) << outcome.message;
    EXPECT_NE(request().find("Hello, alice"), std::string::npos) << "after the fault naming " << named;
  }
  EXPECT_EQ(proxy.server().generation(), 1u);
  EXPECT_EQ(proxy.server().admin_reply("GET", "/readyz").status, 200);
  auto m = metrics();
  EXPECT_NE(m.find("gatehouse_config_reloads_total{result=\"error\"} " + std::to_string(faults.size())),
            std::string::npos)
      << m;
}

TEST_F(Reload, SessionsSurviveAReloadUnlessTheClientCasChange) {
  auto ask = [&](SSL_SESSION* offer, bssl::UniquePtr<SSL_SESSION>* keep, bool* resumed) {
    ClientOptions opt = proxy.client();
    opt.resume = offer;
    opt.max_version = TLS1_3_VERSION;
    TlsClient client(opt);
    std::string body;
    if (client.connect() && client.send("GET / HTTP/1.0\r\n\r\n")) body = client.read_all().value_or("");
    *resumed = client.ssl() && SSL_session_reused(client.ssl());
    if (keep && client.session()) keep->reset(bssl::UpRef(client.session()).release());
    return body;
  };
  bssl::UniquePtr<SSL_SESSION> session;
  bool resumed = false;
  ASSERT_NE(ask(nullptr, &session, &resumed).find("Hello, alice"), std::string::npos);
  ASSERT_TRUE(session);
  ProxyConfig longer;
  longer.idle_timeout = "6m";  // any change that keeps the trust configuration
  ASSERT_TRUE(proxy.reload_text(config(longer), proxy.dir().path()).ok);
  EXPECT_NE(ask(session.get(), &session, &resumed).find("Hello, alice"), std::string::npos);
  EXPECT_TRUE(resumed);  // the ticket keys outlived the reload

  Cert other = make_root("Other Root", "Other Org");
  proxy.dir().write("roots.pem", tls::to_pem(proxy.root().x509.get()) + tls::to_pem(other.x509.get()));
  std::string more_cas = config(longer);
  more_cas.replace(more_cas.find("client_ca = \"root.pem\""), 22, "client_ca = \"roots.pem\"");
  ASSERT_TRUE(proxy.reload_text(more_cas, proxy.dir().path()).ok);
  EXPECT_NE(ask(session.get(), nullptr, &resumed).find("Hello, alice"), std::string::npos);
  EXPECT_FALSE(resumed);  // other client CAs: verified from scratch
}

TEST_F(Reload, RotatingCertificateCaAndCrlUnderLoadFailsNoHandshake) {
  tls::pki::CertSpec spec{.cn = "localhost",
                          .o = {"Rotated"},
                          .sans = {"dns:localhost", "ip:127.0.0.1"},
                          .purpose = tls::pki::Purpose::server};
  Cert next = make_leaf(spec, &proxy.intermediate());
  write_chain(proxy.dir(), "server-next.pem", {&next, &proxy.intermediate()});
  write_key(proxy.dir(), "server-next.key", next);
  // carol's certificate comes from another root, trusted from the second step on; bob's is
  // revoked by the CRL of the third step.
  Cert other = make_root("Other Root", "Other Org");
  proxy.dir().write("roots.pem", tls::to_pem(proxy.root().x509.get()) + tls::to_pem(other.x509.get()));
  auto client_of = [&](const std::string& name, const Cert* issuer) {
    Cert leaf = make_leaf(tls::pki::CertSpec{.cn = name, .o = {"Acme Test"}}, issuer);
    write_chain(proxy.dir(), name + ".pem", {&leaf, issuer});
    write_key(proxy.dir(), name + ".key", leaf);
    ClientOptions opt = proxy.client();
    opt.cert_chain = proxy.dir() / (name + ".pem");
    opt.key = proxy.dir() / (name + ".key");
    return std::make_pair(opt, tls::serial_text(leaf.x509.get()));
  };
  auto [carol, carol_serial] = client_of("carol", &other);
  auto [bob, bob_serial] = client_of("bob", &proxy.intermediate());
  ASSERT_EQ(request(nullptr, carol), "");
  ASSERT_NE(request(nullptr, bob).find("Hello, bob"), std::string::npos);
  const std::int64_t now = std::time(nullptr);
  std::vector<tls::ca::IndexEntry> revoked = {{bob_serial, "", "", tls::subject_line(proxy.intermediate().x509.get()),
                                               "client", 0, 0, true, now - 60, "keyCompromise"}};
  auto crl = tls::ca::signed_crl_pem(proxy.intermediate().x509.get(), proxy.intermediate().key.get(), revoked, 1,
                                     now - 60, now + 86400);
  ASSERT_TRUE(crl);
  proxy.dir().write("crl.pem", *crl);
  // The new material must reach new connections within a second of the reload.
  auto within_a_second = [](const std::function<bool()>& check) { return eventually(check, std::chrono::seconds(1)); };

  const std::string d = proxy.dir().path().string();
  CommandResult load;
  std::thread bench([&] {
    load = run_command(std::string(GATEHOUSE_BENCH) + " 127.0.0.1:" + std::to_string(proxy.port()) + " --cert " + d +
                       "/alice-chain.pem --key " + d + "/alice.key --ca " + d +
                       "/root.pem --sni localhost -c 4 -d 2 "
                       "--warmup 0 --json");
  });
  // Each step waits for more handshakes under load, reloads, and checks the next connection.
  auto under_load = [&] {
    const auto seen = proxy.totals().handshakes_ok;
    eventually([&] { return proxy.totals().handshakes_ok >= seen + 50; });
  };
  struct Join {
    std::thread& t;
    ~Join() { t.join(); }  // also when an assertion below ends the test early
  } join{bench};
  std::string text = config();
  const std::string old_cert = "\"server-ecdsa.pem\", key = \"server-ecdsa.key\"";
  text.replace(text.find(old_cert), old_cert.size(), "\"server-next.pem\", key = \"server-next.key\"");
  under_load();
  ASSERT_TRUE(proxy.reload_text(text, proxy.dir().path()).ok);
  EXPECT_TRUE(within_a_second([&] {
    TlsClient client(proxy.client());
    return client.connect() && client.server_leaf_subject().find("O=Rotated") != std::string::npos;
  }));

  text.replace(text.find("client_ca = \"root.pem\""), 22, "client_ca = \"roots.pem\"");
  under_load();
  ASSERT_TRUE(proxy.reload_text(text, proxy.dir().path()).ok);
  EXPECT_TRUE(within_a_second(
      [&, &carol = carol] { return request(nullptr, carol).find("Hello, carol") != std::string::npos; }));
  text.replace(text.find("  client_ca = "), 0, "  crl = \"crl.pem\"\n");
  under_load();
  ASSERT_TRUE(proxy.reload_text(text, proxy.dir().path()).ok);
  EXPECT_TRUE(within_a_second([&, &bob = bob] { return request(nullptr, bob).empty(); }));
  under_load();
  bench.join();
  bench = std::thread([] {});  // for the guard

  ASSERT_EQ(load.exit_code, 0) << load.output;
  auto brace = load.output.find('{');
  auto j = nlohmann::json::parse(brace == std::string::npos ? "" : load.output.substr(brace), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << load.output;
  EXPECT_GT(j["operations"].get<int>(), 150);
  EXPECT_TRUE(j["errors"].empty()) << load.output;  // no handshake that should succeed failed
  EXPECT_EQ(proxy.server().generation(), 4u);
}

TEST_F(Reload, WhatNeedsARestartIsRefusedNotHalfApplied) {
  ProxyConfig moved;
  moved.listen = "127.0.0.1:1";
  moved.routes = kDenyAlice;  // would apply, but the move makes the whole reload fail
  auto outcome = proxy.reload_text(config(moved), proxy.dir().path());
  EXPECT_FALSE(outcome.ok);
  EXPECT_NE(outcome.message.find("need a restart"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("moved from 127.0.0.1:0 to 127.0.0.1:1"), std::string::npos) << outcome.message;
  EXPECT_NE(request().find("Hello, alice"), std::string::npos);  // the deny did not slip in

  auto reply = proxy.server().admin_reply("GET", "/reload");
  EXPECT_EQ(reply.status, 405);  // a reload is a POST
}

}  // namespace
}  // namespace gatehouse::test
