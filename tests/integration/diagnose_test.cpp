// `gatehouse verify` and `inspect`: every planted fault gets its reason keyword and its sentence,
// and `verify` always reaches the same verdict as the proxy's handshake.
#include <gtest/gtest.h>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::Purpose;
const std::string kBinary = GATEHOUSE_BINARY;
constexpr std::int64_t kDay = 86400;

struct Planted {
  std::string name;    // file stem in the harness folder
  std::string reason;  // expected keyword
  std::string words;   // a phrase the sentence must contain
};

class Diagnose : public testing::Test {
 protected:
  void SetUp() override {
    const Cert& inter = proxy.intermediate();
    plant("good", make_leaf({.cn = "alice", .o = {"Acme Test"}}, &inter), {&inter});
    plant("no-intermediate", make_leaf({.cn = "alice", .o = {"Acme Test"}}, &inter), {});
    plant("self-signed", make_leaf({.cn = "alice", .o = {"Acme Test"}}, nullptr), {});
    plant("expired", make_leaf({.cn = "old", .not_before = -30 * kDay, .not_after = -2 * kDay}, &inter), {&inter});
    plant("not-yet-valid", make_leaf({.cn = "early", .not_before = 2 * kDay, .not_after = 30 * kDay}, &inter),
          {&inter});
    plant("server-only", make_leaf({.cn = "srv", .purpose = Purpose::server}, &inter), {&inter});
    Cert other = make_root("Other Root", "Other Org");
    plant("foreign", make_leaf({.cn = "eve", .o = {"Other Org"}}, &other), {});
    Cert mid = make_intermediate("Mid", "Acme Test", proxy.root());
    Cert mid2 = make_intermediate("Mid Two", "Acme Test", mid);
    plant("too-deep", make_leaf({.cn = "deep"}, &mid2), {&mid2, &mid});
    ProxyConfig config;
    config.configure_intermediates = false;
    config.verify_depth = 1;
    proxy.start(config);
  }

  void plant(const std::string& name, const Cert& leaf, std::initializer_list<const Cert*> chain) {
    std::string text = tls::to_pem(leaf.x509.get());
    for (const Cert* c : chain) text += tls::to_pem(c->x509.get());
    proxy.dir().write(name + ".pem", text);
    write_key(proxy.dir(), name + ".key", leaf);
  }

  CommandResult verify(const std::string& name, const std::string& extra = "") {
    return run_command(kBinary + " verify --max-depth 1 --ca " + (proxy.dir() / "root.pem").string() + " " + extra +
                       " " + (proxy.dir() / (name + ".pem")).string());
  }

  // The reason the proxy logs for a client presenting `name`.
  std::string proxy_reason(const std::string& name) {
    TlsClient client(proxy.client(name + ".pem", name + ".key"));
    if (client.connect()) {
      client.send("GET / HTTP/1.0\r\n\r\n");
      client.read_all();
    }
    auto log = proxy.wait_for_log(++lines);
    return log.size() == lines ? log.back()["reason"].get<std::string>() : "<no log line>";
  }

  ProxyHarness proxy;
  size_t lines = 0;
};

TEST_F(Diagnose, EveryPlantedFaultIsExplainedAndAgreesWithTheHandshake) {
  const std::vector<Planted> cases = {
      {"good", "ok", "is valid for client use"},
      {"no-intermediate", "incomplete_chain",
       "is issued by 'CN=Test Intermediate CA,O=Acme Test', which was not sent and is not trusted: send the full "
       "chain, leaf first"},
      {"self-signed", "untrusted_issuer",
       "is self-signed and is not one of the trusted roots ('CN=Test Root CA,O=Acme Test')"},
      {"expired", "expired", "'CN=old' expired on "},
      {"not-yet-valid", "not_yet_valid", "'CN=early' is not valid before "},
      {"server-only", "wrong_usage", "is not meant for client authentication"},
      {"foreign", "untrusted_issuer",
       "is issued by 'CN=Other Root,O=Other Org', which is not among the trusted roots ('CN=Test Root CA,O=Acme "
       "Test')"},
      {"too-deep", "chain_too_long",
       "the chain has 2 intermediate(s) between the client certificate and the root; "
       "verify_depth allows 1"},
  };
  for (const auto& c : cases) {
    auto r = verify(c.name);
    EXPECT_EQ(r.exit_code, c.reason == "ok" ? 0 : 1) << c.name << ": " << r.output;
    if (c.reason != "ok") {
      EXPECT_EQ(r.output.rfind(c.reason + ": ", 0), 0u) << c.name << ": " << r.output;
    }
    EXPECT_NE(r.output.find(c.words), std::string::npos) << c.name << ": " << r.output;
    EXPECT_EQ(proxy_reason(c.name), c.reason) << c.name << ": the handshake disagrees with `gatehouse verify`";
  }
}

TEST_F(Diagnose, VerifyAtAnotherTimeAndAsJson) {
  auto r = verify("good", "--at 2100-01-01T00:00:00Z --json");
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.output;
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["reason"], "expired");
  r = verify("not-yet-valid", "--at " + std::to_string(std::time(nullptr) + 3 * kDay));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = verify("good", "--at yesterday");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("neither RFC 3339"), std::string::npos) << r.output;
}

TEST_F(Diagnose, ServerPurposeAndNameMismatch) {
  Cert server =
      make_leaf({.cn = "app", .sans = {"dns:app.staging.test"}, .purpose = Purpose::server}, &proxy.intermediate());
  plant("app", server, {&proxy.intermediate()});
  auto ok = verify("app", "--purpose server --name app.staging.test");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  auto wrong = verify("app", "--purpose server --name other.staging.test");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.output.find("name_mismatch: certificate 'CN=app' is not valid for the name 'other.staging.test'"),
            std::string::npos)
      << wrong.output;
  auto client_cert_as_server = verify("good", "--purpose server");
  EXPECT_NE(client_cert_as_server.output.find("wrong_usage: "), std::string::npos) << client_cert_as_server.output;
}

TEST_F(Diagnose, InspectExplainsChainsKeysAndExpiry) {
  const auto& d = proxy.dir();
  auto r =
      run_command(kBinary + " inspect " + (d / "server-ecdsa.pem").string() + " " + (d / "server-ecdsa.key").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("chain of 2: in order, ends at 'CN=Test Intermediate CA,O=Acme Test', issued by "
                          "'CN=Test Root CA,O=Acme Test' (not included)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("private key: ECDSA P-256, matches 'CN=localhost,O=Acme Test'"), std::string::npos)
      << r.output;
  EXPECT_TRUE(r.output.find("expires in 89 days") != std::string::npos ||
              r.output.find("expires in 90 days") != std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("dns:         localhost"), std::string::npos) << r.output;

  // Out of order: the intermediate first.
  std::string text = tls::to_pem(proxy.root().x509.get()) + tls::to_pem(proxy.intermediate().x509.get());
  proxy.dir().write("reversed.pem", text);
  r = run_command(kBinary + " inspect --json " + (d / "reversed.pem").string());
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.output;
  EXPECT_EQ(j[0]["chain"]["in_order"], false);
  EXPECT_NE(j[0]["chain"]["problems"][0].get<std::string>().find("out of order"), std::string::npos);

  // A key with no certificate of its own here.
  r = run_command(kBinary + " inspect " + (d / "alice.key").string() + " " + (d / "server-rsa.pem").string());
  EXPECT_NE(r.output.find("no certificate given here matches this key"), std::string::npos) << r.output;
  // DER works too.
  run_command("openssl x509 -in " + (d / "alice.pem").string() + " -outform DER -out " + (d / "alice.der").string());
  r = run_command(kBinary + " inspect " + (d / "alice.der").string());
  EXPECT_NE(r.output.find("(DER)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CN=alice"), std::string::npos) << r.output;
  // CSRs and CRLs.
  run_command(kBinary + " ca csr --cn zoe --out " + (d / "zoe").string());
  r = run_command(kBinary + " inspect " + (d / "zoe.csr").string());
  EXPECT_NE(r.output.find("CSR: CN=zoe, ECDSA P-256, signature valid"), std::string::npos) << r.output;
  // Something that is no certificate at all.
  r = run_command(kBinary + " inspect " + proxy.dir().write("junk.bin", "junk").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("neither PEM, nor DER"), std::string::npos) << r.output;
}

TEST_F(Diagnose, StartupChecksUseTheSameWords) {
  std::string text = tls::to_pem(proxy.intermediate().x509.get());
  auto server = tls::read_certificates(proxy.dir() / "server-ecdsa.pem");
  ASSERT_TRUE(server);
  proxy.dir().write("server-reversed.pem", text + tls::to_pem(server->front().get()));
  std::string config = proxy.config_text(ProxyConfig{});
  config.replace(config.find("\"server-ecdsa.pem\""), 18, "\"server-reversed.pem\"");
  auto r = run_command(kBinary + " check -c " + proxy.dir().write("reversed.toml", config).string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is not issued by the next one"), std::string::npos) << r.output;

  Cert soon =
      make_leaf({.cn = "localhost", .sans = {"dns:localhost"}, .not_after = 5 * kDay, .purpose = Purpose::server},
                &proxy.intermediate());
  plant("soon", soon, {&proxy.intermediate()});
  config = proxy.config_text(ProxyConfig{});
  const std::string original = "{ cert = \"server-ecdsa.pem\", key = \"server-ecdsa.key\" }";
  config.replace(config.find(original), original.size(), "{ cert = \"soon.pem\", key = \"soon.key\" }");
  r = run_command(kBinary + " check -c " + proxy.dir().write("soon.toml", config).string());
  EXPECT_EQ(r.exit_code, 0) << r.output;  // a warning, not an error
  EXPECT_NE(r.output.find("warning: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("server certificate 'CN=localhost' expires in "), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {
namespace {

// `verify -c`: the configured listener's own judgement (its intermediates, CRLs, depth, routes
// and rules), the same as its handshake's, where `--ca` alone cannot know them.
TEST(VerifyAsListener, JudgesLikeTheListenersHandshake) {
  ProxyHarness proxy;
  ProxyConfig c;  // client_intermediates configured: a leaf alone is admitted
  c.routes =
      "  [[listener.route]]\n  name = \"admin\"\n  sni = [\"admin.test\"]\n  upstream = \"app\"\n"
      "  allow = [ { ou = \"admins\" } ]\n"
      "  [[listener.route]]\n  name = \"staging\"\n  upstream = \"app\"\n  allow = [ { ou = \"testers\" } ]\n";
  proxy.start(c);
  const auto config = proxy.dir().write("gatehouse.toml", proxy.config_text(c)).string();
  Cert carol = make_leaf({.cn = "carol", .o = {"Acme Test"}, .ou = {"sales"}}, &proxy.intermediate());
  write_chain(proxy.dir(), "carol.pem", {&carol});
  const std::string alice = (proxy.dir() / "alice.pem").string();  // the leaf alone
  auto as_listener = [&](const std::string& cert, const std::string& extra = "") {
    return run_command(kBinary + " verify -c " + config + " " + extra + " " + cert);
  };

  auto ok = as_listener(alice);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("ok: 'CN=alice,OU=testers,O=Acme Test' would be admitted by listener"), std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find("route 'staging'"), std::string::npos) << ok.output;
  // Without the config, the same leaf is an incomplete chain, and verify says what it skipped.
  auto bare = run_command(kBinary + " verify --ca " + (proxy.dir() / "root.pem").string() + " " + alice);
  EXPECT_EQ(bare.output.rfind("incomplete_chain: ", 0), 0u) << bare.output;
  EXPECT_NE(bare.output.find("note: not checked: revocation (no --crl), routes and rules"), std::string::npos)
      << bare.output;

  auto denied = as_listener((proxy.dir() / "carol.pem").string(), "--json");
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
  auto j = nlohmann::json::parse(denied.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << denied.output;
  EXPECT_EQ(j["reason"], "policy_denied");
  EXPECT_EQ(j["route"], "staging");
  auto admin = as_listener(alice, "--sni admin.test");
  EXPECT_EQ(admin.exit_code, 1) << admin.output;
  EXPECT_EQ(admin.output.rfind("policy_denied: ", 0), 0u) << admin.output;

  // The proxy agrees, handshake by handshake.
  size_t lines = 0;
  for (const auto& [cert, key, sni, reason] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"alice.pem", "alice.key", "localhost", "ok"}, {"alice.pem", "alice.key", "admin.test", "policy_denied"}}) {
    ClientOptions opt = proxy.client(cert, key);
    opt.sni = sni;
    TlsClient client(opt);
    if (client.connect()) {
      client.send("GET / HTTP/1.0\r\n\r\n");
      client.read_all();
    }
    auto log = proxy.wait_for_log(++lines);
    ASSERT_EQ(log.size(), lines);
    EXPECT_EQ(log.back()["reason"], reason) << log.back().dump();
  }

  auto unknown = as_listener(alice, "--listener nope");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("no listener 'nope' in the config"), std::string::npos) << unknown.output;
}

}  // namespace
}  // namespace gatehouse::test
