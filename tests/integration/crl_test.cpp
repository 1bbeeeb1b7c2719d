// CRLs in the proxy: a revoked client or intermediate is refused; a stale CRL is reported and
// handled as `crl_stale` says.
#include <gtest/gtest.h>

#include <ctime>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

constexpr std::int64_t kDay = 86400;

class Crl : public testing::Test {
 protected:
  // Writes crl.pem: one CRL from the intermediate (revoking `revoked`) and one from the root.
  void write_crls(std::int64_t next_update, const std::vector<std::string>& revoked_serials,
                  bool revoke_intermediate = false) {
    const std::int64_t now = std::time(nullptr);
    std::vector<tls::ca::IndexEntry> entries;
    for (const auto& serial : revoked_serials)
      entries.push_back({serial, "", "", tls::subject_line(proxy.intermediate().x509.get()), "client", 0, 0, true,
                         now - 60, "keyCompromise"});
    if (revoke_intermediate)
      entries.push_back({tls::serial_text(proxy.intermediate().x509.get()), "", "",
                         tls::subject_line(proxy.root().x509.get()), "intermediate", 0, 0, true, now - 60,
                         "cACompromise"});
    auto a = tls::ca::signed_crl_pem(proxy.intermediate().x509.get(), proxy.intermediate().key.get(), entries, 1,
                                     now - 2 * kDay, next_update);
    auto b = tls::ca::signed_crl_pem(proxy.root().x509.get(), proxy.root().key.get(), entries, 2, now - 2 * kDay,
                                     next_update);
    ASSERT_TRUE(a && b);
    proxy.dir().write("crl.pem", *a + *b);
  }

  std::string start(const std::string& stale) {
    std::string config = proxy.config_text(ProxyConfig{});
    config.replace(config.find("  verify = "), 0, "  crl = \"crl.pem\"\n  crl_stale = \"" + stale + "\"\n");
    auto file = proxy.dir().write("crl.toml", config);
    auto check = run_command(std::string(GATEHOUSE_BINARY) + " check -c " + file.string());
    proxy.start_text(config, proxy.dir().path());
    return check.output;
  }

  std::string reason_for(const std::string& chain, const std::string& key) {
    TlsClient client(proxy.client(chain, key));
    if (client.connect()) {
      client.send("GET / HTTP/1.0\r\n\r\n");
      client.read_all();
    }
    auto log = proxy.wait_for_log(++lines);
    return log.size() == lines ? log.back()["reason"].get<std::string>() + ": " + log.back().value("detail", "") : "";
  }

  std::string alice_serial() {
    auto certs = tls::read_certificates(proxy.dir() / "alice.pem");
    return tls::serial_text(certs->front().get());
  }

  ProxyHarness proxy;
  size_t lines = 0;
};

TEST_F(Crl, RevokedClientIsRefusedOthersGetIn) {
  write_crls(std::time(nullptr) + 7 * kDay, {alice_serial()});
  start("reject");
  EXPECT_EQ(reason_for("alice-chain.pem", "alice.key").rfind("revoked: certificate 'CN=alice", 0), 0u);
  Cert bob = make_leaf({.cn = "bob"}, &proxy.intermediate());
  write_chain(proxy.dir(), "bob.pem", {&bob, &proxy.intermediate()});
  write_key(proxy.dir(), "bob.key", bob);
  EXPECT_EQ(reason_for("bob.pem", "bob.key"), "ok: ");
}

TEST_F(Crl, RevokedIntermediateRefusesEveryoneItIssued) {
  write_crls(std::time(nullptr) + 7 * kDay, {}, true);
  start("reject");
  auto reason = reason_for("alice-chain.pem", "alice.key");
  EXPECT_EQ(reason.rfind("revoked: certificate 'CN=Test Intermediate CA,O=Acme Test' has been revoked", 0), 0u)
      << reason;
  EXPECT_NE(reason.find("(cACompromise)"), std::string::npos) << reason;
}

TEST_F(Crl, StaleCrlIsReportedAndRejectsByDefault) {
  write_crls(std::time(nullptr) - kDay, {});
  std::string check = start("reject");
  EXPECT_NE(check.find("warning: "), std::string::npos) << check;
  EXPECT_NE(check.find("is past its next update"), std::string::npos) << check;
  EXPECT_NE(check.find("clients of that CA are refused"), std::string::npos) << check;
  auto reason = reason_for("alice-chain.pem", "alice.key");
  // Not "revoked": every valid tester would be told their certificate was withdrawn.
  EXPECT_EQ(reason.rfind("crl_unavailable: revocation of ", 0), 0u) << reason;
  EXPECT_NE(reason.find("cannot be checked"), std::string::npos) << reason;
}

TEST_F(Crl, StaleCrlWithWarnStillCountsItsRevocations) {
  write_crls(std::time(nullptr) - kDay, {alice_serial()});
  std::string check = start("warn");
  EXPECT_NE(check.find("it is still used"), std::string::npos) << check;
  EXPECT_EQ(reason_for("alice-chain.pem", "alice.key").rfind("revoked: certificate", 0), 0u);
  Cert carol = make_leaf({.cn = "carol"}, &proxy.intermediate());
  write_chain(proxy.dir(), "carol.pem", {&carol, &proxy.intermediate()});
  write_key(proxy.dir(), "carol.key", carol);
  EXPECT_EQ(reason_for("carol.pem", "carol.key"), "ok: ");
}

}  // namespace
}  // namespace gatehouse::test
