// GET /clients and the client-certificate gauges over real handshakes: who was admitted, who
// was refused, whose certificate expires first.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/http_upstream.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::CertSpec;

std::string fingerprint_of(const std::filesystem::path& pem) {
  auto certs = tls::read_certificates(pem);
  return certs && !certs->empty() ? tls::extract_identity(certs->front().get()).fingerprint : "";
}

class SeenClientsTest : public testing::Test {
 protected:
  void SetUp() override {
    Cert other_root = make_root("Other Root", "Elsewhere Inc");
    Cert stranger = make_leaf(CertSpec{.cn = "stranger", .o = {"Elsewhere Inc"}}, &other_root);
    write_chain(proxy.dir(), "stranger.pem", {&stranger});
    write_key(proxy.dir(), "stranger.key", stranger);
    Cert old = make_leaf(CertSpec{.cn = "old", .o = {"Acme Test"}, .not_before = -10 * 86400, .not_after = -86400},
                         &proxy.intermediate());
    write_chain(proxy.dir(), "old.pem", {&old, &proxy.intermediate()});
    write_key(proxy.dir(), "old.key", old);
    Cert soon = make_leaf(CertSpec{.cn = "soon", .o = {"Acme Test"}, .not_after = 5 * 86400}, &proxy.intermediate());
    write_chain(proxy.dir(), "soon.pem", {&soon, &proxy.intermediate()});
    write_key(proxy.dir(), "soon.key", soon);
  }
  void start(int workers = 1) {
    ProxyConfig c;
    c.endpoints = {up.endpoint()};
    std::string text = proxy.config_text(c);
    const std::string one = "workers = 1";
    text.replace(text.find(one), one.size(), "workers = " + std::to_string(workers));
    proxy.start_text(text, proxy.dir().path());
  }
  bool request(const std::string& chain, const std::string& key) { return get_ok(proxy.client(chain, key)); }
  std::pair<int, std::string> admin(const std::string& target) {
    return admin_get(proxy.server().admin_port(), target);
  }
  // The /clients entries, by subject's CN.
  nlohmann::json clients(const std::string& query = "") {
    auto [status, body] = admin("/clients" + query);
    EXPECT_EQ(status, 200) << body;
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    EXPECT_TRUE(parsed.is_array()) << body;
    return parsed;
  }

  HttpUpstream up;
  ProxyHarness proxy;
};

TEST_F(SeenClientsTest, ListsAdmittedAndRefusedCertificatesSoonestExpiryFirst) {
  start();
  EXPECT_EQ(clients().size(), 0u);
  ASSERT_TRUE(request("alice-chain.pem", "alice.key"));
  ASSERT_TRUE(request("alice-chain.pem", "alice.key"));
  ASSERT_TRUE(request("soon.pem", "soon.key"));
  EXPECT_FALSE(request("stranger.pem", "stranger.key"));  // untrusted_issuer
  EXPECT_FALSE(request("old.pem", "old.key"));            // expired
  EXPECT_FALSE(request("", ""));                          // no certificate: nobody to list
  proxy.wait_for_log(6);

  auto all = clients();
  ASSERT_EQ(all.size(), 4u) << all.dump(2);
  std::map<std::string, nlohmann::json> by_cn;
  for (const auto& c : all)
    by_cn[c["subject"].get<std::string>().substr(0, c["subject"].get<std::string>().find(','))] = c;
  const auto& alice = by_cn["CN=alice"];
  EXPECT_EQ(alice["admitted"], 2);
  EXPECT_EQ(alice["refused"], 0);
  EXPECT_EQ(alice["verified"], true);
  EXPECT_EQ(alice["last_reason"], "ok");
  EXPECT_EQ(alice["listener"], "test");
  EXPECT_EQ(alice["fingerprint_sha256"], fingerprint_of(proxy.dir() / "alice.pem"));
  EXPECT_EQ(alice["issuer"], tls::extract_identity(proxy.intermediate().x509.get()).subject);
  const auto& stranger = by_cn["CN=stranger"];
  EXPECT_EQ(stranger["admitted"], 0);
  EXPECT_EQ(stranger["refused"], 1);
  EXPECT_EQ(stranger["verified"], false);
  EXPECT_EQ(stranger["last_reason"], "untrusted_issuer");
  const auto& old = by_cn["CN=old"];
  EXPECT_EQ(old["refused"], 1);
  EXPECT_EQ(old["verified"], false);
  EXPECT_EQ(old["last_reason"], "expired");
  EXPECT_LT(old["days_left"].get<int>(), 0);
  const auto soon = by_cn["CN=soon"];
  auto soon_cert = tls::read_certificates(proxy.dir() / "soon.pem");
  ASSERT_TRUE(soon_cert);
  EXPECT_EQ(soon["not_after"], tls::iso8601(tls::unix_time(X509_get0_notAfter(soon_cert->front().get()))));
  const int soon_days = soon["days_left"];
  EXPECT_TRUE(soon_days == 5 || soon_days == 4) << soon_days;  // minted for five days, a second ago or so
  // Soonest first: the expired one, then the one renewing in days.
  EXPECT_EQ(all[0]["subject"], old["subject"]);
  EXPECT_EQ(all[1]["subject"], soon["subject"]);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LE(all[i - 1]["days_left"], all[i]["days_left"]);
  for (const auto& c : all) EXPECT_LE(c["first_seen"].get<std::string>(), c["last_seen"].get<std::string>());

  auto expiring = clients("?expiring=14d");
  ASSERT_EQ(expiring.size(), 2u) << expiring.dump(2);
  EXPECT_EQ(expiring[0]["subject"], old["subject"]);
  EXPECT_EQ(expiring[1]["subject"], soon["subject"]);
  EXPECT_EQ(clients("?expiring=1h").size(), 1u);

  std::string metrics = admin("/metrics").second;
  EXPECT_EQ(metric_value(metrics, "gatehouse_client_certificates_seen{status=\"admitted\"}"), 2);
  EXPECT_EQ(metric_value(metrics, "gatehouse_client_certificates_seen{status=\"refused\"}"), 2);
  EXPECT_EQ(metric_value(metrics, "gatehouse_client_certificates_expiring_soon"), 1);
  EXPECT_EQ(metrics.find("alice"), std::string::npos);  // never an identity as a label
}

TEST_F(SeenClientsTest, ABadQueryIsRefusedWithWhatIsWrong) {
  start();
  auto [status, body] = admin("/clients?expiring=soon");
  EXPECT_EQ(status, 400);
  EXPECT_NE(body.find("'soon' is not a duration"), std::string::npos) << body;
  auto [other, why] = admin("/clients?expiring=14d&who=me");
  EXPECT_EQ(other, 400);
  EXPECT_NE(why.find("unknown parameter 'who'"), std::string::npos) << why;
  EXPECT_EQ(admin("/clients?").first, 200);
  auto [missing, text] = admin("/nothing");
  EXPECT_EQ(missing, 404);
  EXPECT_NE(text.find("/clients"), std::string::npos) << text;
}

TEST_F(SeenClientsTest, GaugesStartAtZero) {
  start();
  std::string metrics = admin("/metrics").second;
  EXPECT_EQ(metric_value(metrics, "gatehouse_client_certificates_seen{status=\"admitted\"}"), 0);
  EXPECT_EQ(metric_value(metrics, "gatehouse_client_certificates_seen{status=\"refused\"}"), 0);
  EXPECT_EQ(metric_value(metrics, "gatehouse_client_certificates_expiring_soon"), 0);
}

// Whichever worker the kernel hands each connection to, the answer is one entry per certificate.
TEST_F(SeenClientsTest, WorkersTablesMergeByFingerprint) {
  start(2);
  constexpr int kTimes = 8;
  for (int i = 0; i < kTimes; ++i) ASSERT_TRUE(request("alice-chain.pem", "alice.key"));
  EXPECT_FALSE(request("stranger.pem", "stranger.key"));
  proxy.wait_for_log(kTimes + 1);
  auto all = clients();
  ASSERT_EQ(all.size(), 2u) << all.dump(2);
  const auto& alice = all[0]["verified"] == true ? all[0] : all[1];
  EXPECT_EQ(alice["admitted"], kTimes);
  EXPECT_EQ(alice["fingerprint_sha256"], fingerprint_of(proxy.dir() / "alice.pem"));
}

}  // namespace
}  // namespace gatehouse::test
