// Refused clients, each with its reason keyword in the log and the counters, and the TLS alert
// the client receives.
#include <gtest/gtest.h>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"
#include "tls/pem_io.hpp"
#include "tls/reason_alert.hpp"

#include <unistd.h>

namespace gatehouse::test {
namespace {

using gatehouse::Reason;
using tls::pki::CertSpec;
using tls::pki::Purpose;

constexpr std::int64_t kDay = 86400;

class Refusal : public testing::Test {
 protected:
  void SetUp() override { proxy.start(config); }

  // Runs a client with `chain`/`key` and checks it is refused with `reason`, everywhere.
  void expect_refused(const std::string& chain, const std::string& key, Reason reason, std::uint16_t version) {
    ClientOptions opt = proxy.client(chain, key);
    opt.min_version = opt.max_version = version;
    TlsClient client(opt);
    bool got_through = false;
    bool connected = client.connect();
    EXPECT_TRUE(connected || client.alert() >= 0) << "the client failed by itself: " << client.error();
    if (connected) {  // TLS 1.3: the client learns of the refusal on its first read
      client.send("GET / HTTP/1.0\r\n\r\n");
      auto body = client.read_all();
      got_through = body && !body->empty();
    }
    EXPECT_FALSE(got_through) << "a client that should be refused got a response";
    // BoringSSL itself answers a missing certificate: certificate_required in TLS 1.3 (RFC 8446),
    // handshake_failure in TLS 1.2.
    int expected_alert = reason == Reason::no_certificate && version == TLS1_2_VERSION ? SSL_AD_HANDSHAKE_FAILURE
                                                                                       : tls::reason_alert(reason);
    EXPECT_EQ(client.alert(), expected_alert);

    auto log = proxy.wait_for_log(++lines);
    ASSERT_EQ(log.size(), lines);
    const auto& line = log.back();
    EXPECT_EQ(line["decision"], "deny");
    EXPECT_EQ(line["reason"], std::string(gatehouse::reason_keyword(reason))) << line.dump();
    EXPECT_TRUE(line.contains("detail")) << line.dump();
    EXPECT_EQ(proxy.totals().refused_for(reason), ++refused[static_cast<size_t>(reason)]);
    EXPECT_EQ(proxy.totals().handshakes_ok, 0u);
  }

  void both_versions(const std::string& chain, const std::string& key, Reason reason) {
    expect_refused(chain, key, reason, TLS1_3_VERSION);
    expect_refused(chain, key, reason, TLS1_2_VERSION);
  }

  Cert leaf(CertSpec spec, const Cert* issuer, const std::string& name, std::initializer_list<const Cert*> extra = {}) {
    Cert c = make_leaf(std::move(spec), issuer);
    std::string text;
    std::vector<const Cert*> chain{&c};
    chain.insert(chain.end(), extra.begin(), extra.end());
    for (const Cert* x : chain) text += tls::to_pem(x->x509.get());
    proxy.dir().write(name + ".pem", text);
    write_key(proxy.dir(), name + ".key", c);
    return c;
  }

  ProxyHarness proxy;
  ProxyConfig config;
  size_t lines = 0;
  std::array<std::uint64_t, gatehouse::kReasonCount> refused{};
};

TEST_F(Refusal, NoCertificate) { both_versions("", "", Reason::no_certificate); }

TEST_F(Refusal, CertificateFromAnUnrelatedCa) {
  Cert other_root = make_root("Other Root", "Other Org");
  leaf({.cn = "mallory", .o = {"Other Org"}}, &other_root, "mallory");
  both_versions("mallory.pem", "mallory.key", Reason::untrusted_issuer);
}

TEST_F(Refusal, UnrelatedCaEvenWhenTheClientSendsItsRoot) {
  Cert other_root = make_root("Test Root CA", "Acme Test");  // same name as ours, other key
  leaf({.cn = "mallory", .o = {"Acme Test"}}, &other_root, "mallory", {&other_root});
  expect_refused("mallory.pem", "mallory.key", Reason::untrusted_issuer, TLS1_3_VERSION);
}

// A CA re-created under the same names (new keys) is another CA, and the log says so instead of
// calling the chain incomplete and advising to list its root as an intermediate.
TEST_F(Refusal, ALookAlikeCaIsNamedAsSuch) {
  Cert other_root = make_root("Test Root CA", "Acme Test");
  Cert other_intermediate = make_intermediate("Test Intermediate CA", "Acme Test", other_root, 0);
  leaf({.cn = "alice", .o = {"Acme Test"}}, &other_intermediate, "lookalike", {&other_intermediate});
  both_versions("lookalike.pem", "lookalike.key", Reason::untrusted_issuer);
  auto detail = proxy.wait_for_log(lines).back()["detail"].get<std::string>();
  EXPECT_NE(detail.find("is issued by a look-alike of 'CN=Test Root CA,O=Acme Test'"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("send the full chain"), std::string::npos) << detail;
}

// A client without the root of the proxy's own certificate (a tester who did not install
// root.pem) aborts after our Certificate: that is `server_not_trusted`, in words that say so.
TEST_F(Refusal, AClientThatRejectsOurCertificateIsServerNotTrusted) {
  Cert other_root = make_root("Other Root", "Other Org");
  write_chain(proxy.dir(), "other-root.pem", {&other_root});
  for (std::uint16_t version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    ClientOptions opt = proxy.client();
    opt.server_ca = proxy.dir() / "other-root.pem";
    opt.min_version = opt.max_version = version;
    TlsClient client(opt);
    EXPECT_FALSE(client.connect());
    auto log = proxy.wait_for_log(++lines);
    ASSERT_EQ(log.size(), lines);
    EXPECT_EQ(log.back()["decision"], "deny");
    EXPECT_EQ(log.back()["reason"], "server_not_trusted") << log.back().dump();
    EXPECT_NE(log.back()["detail"].get<std::string>().find("did not accept this server's certificate"),
              std::string::npos)
        << log.back().dump();
  }
  EXPECT_EQ(proxy.totals().refused_for(Reason::server_not_trusted), 2u);
}

// Browsers open connections they never use (preconnects) and drop a handshake to ask which
// certificate to send: a client that hangs up is logged, but is not a refusal.
TEST_F(Refusal, AClientThatHangsUpDuringTheHandshakeIsNotARefusal) {
  for (bool says_hello : {false, true}) {
    int fd = connect_tcp(proxy.port());
    ASSERT_GE(fd, 0);
    if (says_hello) {  // the start of a TLS record, then nothing more
      const char partial[] = {0x16, 0x03, 0x01};
      ASSERT_EQ(::write(fd, partial, sizeof partial), static_cast<ssize_t>(sizeof partial));
    }
    ::close(fd);
    auto log = proxy.wait_for_log(++lines);
    ASSERT_EQ(log.size(), lines);
    EXPECT_EQ(log.back()["decision"], "none") << log.back().dump();
    EXPECT_EQ(log.back()["reason"], "client_closed") << log.back().dump();
  }
  auto totals = proxy.totals();
  EXPECT_EQ(totals.refused_for(Reason::client_closed), 0u);
  EXPECT_EQ(totals.refused_for(Reason::protocol_error), 0u);
}

TEST_F(Refusal, SelfSignedCertificate) {
  leaf({.cn = "alice", .o = {"Acme Test"}}, nullptr, "selfsigned");
  both_versions("selfsigned.pem", "selfsigned.key", Reason::untrusted_issuer);
}

TEST_F(Refusal, ExpiredCertificate) {
  leaf({.cn = "old", .o = {"Acme Test"}, .not_before = -30 * kDay, .not_after = -kDay}, &proxy.intermediate(), "old");
  both_versions("old.pem", "old.key", Reason::expired);
  // Who was refused: the certificate as presented, apart from (and never as) a verified identity.
  auto line = proxy.wait_for_log(lines).back();
  EXPECT_FALSE(line.contains("subject")) << line.dump();
  ASSERT_TRUE(line.contains("unverified_certificate")) << line.dump();
  EXPECT_EQ(line["unverified_certificate"]["subject"], "CN=old,O=Acme Test");
  EXPECT_EQ(line["unverified_certificate"]["issuer"], "CN=Test Intermediate CA,O=Acme Test");
  EXPECT_EQ(line["unverified_certificate"]["serial"].get<std::string>().size() % 3, 2u);
  EXPECT_EQ(line["unverified_certificate"]["fingerprint_sha256"].get<std::string>().size(), 64u);
}

TEST_F(Refusal, NotYetValidCertificate) {
  leaf({.cn = "early", .o = {"Acme Test"}, .not_before = kDay, .not_after = 30 * kDay}, &proxy.intermediate(), "early");
  both_versions("early.pem", "early.key", Reason::not_yet_valid);
}

TEST_F(Refusal, ServerAuthOnlyCertificate) {
  leaf({.cn = "server-only", .o = {"Acme Test"}, .purpose = Purpose::server}, &proxy.intermediate(), "srv");
  both_versions("srv.pem", "srv.key", Reason::wrong_usage);
}

TEST_F(Refusal, CaCertificatePresentedAsClientCertificate) {
  // BoringSSL's client will not sign with a keyCertSign-only key; OpenSSL's will, as a user might.
  auto ca = write_chain(proxy.dir(), "ca-as-client.pem", {&proxy.intermediate()});
  auto key = write_key(proxy.dir(), "ca-as-client.key", proxy.intermediate());
  for (const char* version : {"-tls1_3", "-tls1_2"}) {
    auto r = run_command("echo hi | timeout 10 openssl s_client -quiet " + std::string(version) +
                         " -connect 127.0.0.1:" + std::to_string(proxy.port()) + " -cert " + ca.string() + " -key " +
                         key.string());
    EXPECT_NE(r.output.find("alert"), std::string::npos) << r.output;
    auto log = proxy.wait_for_log(++lines);
    ASSERT_EQ(log.size(), lines);
    EXPECT_EQ(log.back()["reason"], "wrong_usage") << log.back().dump();
    EXPECT_NE(log.back()["detail"].get<std::string>().find("CA certificate"), std::string::npos);
  }
  EXPECT_EQ(proxy.totals().refused_for(Reason::wrong_usage), 2u);
}

TEST_F(Refusal, GarbageInsteadOfAClientHello) {
  TlsClient probe(proxy.client());
  // A raw TCP peer speaking HTTP to the TLS port.
  int fd = connect_tcp(proxy.port());
  ASSERT_GE(fd, 0);
  std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  read_until_eof(fd);  // the proxy closes on us
  ::close(fd);
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "protocol_error");
  // And the proxy still serves good clients.
  ASSERT_TRUE(probe.connect()) << probe.error();
  probe.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_NE(probe.read_all().value_or("").find("Hello, alice"), std::string::npos);
}

class AlpnRefusal : public Refusal {
 protected:
  void SetUp() override {
    config.listener_extra = "alpn = [\"h2\", \"http/1.1\"]";
    Refusal::SetUp();
  }
};

// RFC 7301: a tcp listener whose upstream speaks h2 or http/1.1 refuses a client offering neither
// (no_application_protocol, reason protocol_error); a client offering no ALPN is served.
TEST_F(AlpnRefusal, AForeignOfferIsRefusedAndNoOfferIsServed) {
  for (std::uint16_t version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    ClientOptions opt = proxy.client();
    opt.min_version = opt.max_version = version;
    opt.alpn = {"imap", "pop3"};
    TlsClient client(opt);
    EXPECT_FALSE(client.connect());
    EXPECT_EQ(client.alert(), SSL_AD_NO_APPLICATION_PROTOCOL);
    auto log = proxy.wait_for_log(++lines);
    ASSERT_EQ(log.size(), lines);
    EXPECT_EQ(log.back()["decision"], "deny");
    EXPECT_EQ(log.back()["reason"], "protocol_error") << log.back().dump();
    EXPECT_NE(log.back()["detail"].get<std::string>().find("offered ALPN \"imap\", \"pop3\""), std::string::npos)
        << log.back().dump();
    EXPECT_FALSE(log.back().contains("alpn"));
    EXPECT_EQ(proxy.totals().refused_for(Reason::protocol_error),
              ++refused[static_cast<size_t>(Reason::protocol_error)]);
  }
  for (const auto& [offer, chosen] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, ""}, {{"http/1.1", "h2"}, "h2"}, {{"imap", "http/1.1"}, "http/1.1"}}) {
    ClientOptions opt = proxy.client();
    opt.alpn = offer;
    TlsClient client(opt);
    ASSERT_TRUE(client.connect()) << client.error();
    EXPECT_EQ(client.alpn_selected(), chosen);
    client.send("GET / HTTP/1.0\r\n\r\n");
    EXPECT_NE(client.read_all().value_or("").find("Hello, alice"), std::string::npos);
  }
}

class DepthRefusal : public Refusal {
 protected:
  void SetUp() override {
    config.verify_depth = 1;
    Refusal::SetUp();
  }
};

TEST_F(DepthRefusal, ChainDeeperThanVerifyDepth) {
  Cert mid1 = make_intermediate("Mid One", "Acme Test", proxy.root());
  Cert mid2 = make_intermediate("Mid Two", "Acme Test", mid1);
  leaf({.cn = "deep", .o = {"Acme Test"}}, &mid2, "deep", {&mid2, &mid1});
  both_versions("deep.pem", "deep.key", Reason::chain_too_long);
}

TEST_F(DepthRefusal, OneIntermediateIsWithinVerifyDepthOne) {
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  client.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_NE(client.read_all().value_or("").find("Hello, alice"), std::string::npos);
}

class MissingIntermediate : public Refusal {
 protected:
  void SetUp() override {
    config.configure_intermediates = false;
    Refusal::SetUp();
  }
};

TEST_F(MissingIntermediate, LeafWithoutItsIntermediateIsAnIncompleteChain) {
  both_versions("alice.pem", "alice.key", Reason::incomplete_chain);
}

TEST_F(MissingIntermediate, LeafWithItsIntermediateIsAccepted) {
  TlsClient client(proxy.client("alice-chain.pem"));
  ASSERT_TRUE(client.connect()) << client.error();
  client.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_NE(client.read_all().value_or("").find("Hello, alice"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::test
