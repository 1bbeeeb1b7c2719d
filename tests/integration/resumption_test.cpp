// Session resumption never bypasses today's trust: a resumed session is verified and authorized
// again against the current CRL and routes, and a change of client CAs makes old sessions unusable.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>
#include <random>

#include "tests/support/proxy_harness.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

class Resumption : public testing::Test {
 protected:
  void SetUp() override { write_keys("tickets.key", {old_key}); }

  static std::string random_key() {
    std::string key(80, '\0');
    static std::mt19937_64 rng(std::random_device{}());
    for (auto& c : key) c = static_cast<char>(rng());
    return key;
  }
  void write_keys(const std::string& name, const std::vector<std::string>& keys) {
    std::string all;
    for (const auto& k : keys) all += k;
    ::chmod(a.dir().write(name, all).c_str(), 0600);
  }

  std::string config(const std::string& extra_tls, const ProxyConfig& base = {}, const char* keys = "tickets.key") {
    std::string text = a.config_text(base);
    text.replace(text.find("  verify = "), 0, std::string("  ticket_keys = \"") + keys + "\"\n" + extra_tls);
    return text;
  }

  // Requests whoami through `server` on `port`, offering `session`; returns the response.
  std::string request(std::uint16_t port, SSL_SESSION* session, bssl::UniquePtr<SSL_SESSION>* keep = nullptr) {
    ClientOptions opt = a.client();
    opt.port = port;
    opt.resume = session;
    opt.max_version = TLS1_3_VERSION;
    TlsClient client(opt);
    if (!client.connect()) return "";
    client.send("GET / HTTP/1.0\r\n\r\n");
    std::string body = client.read_all().value_or("");
    if (keep && client.session()) keep->reset(bssl::UpRef(client.session()).release());
    return body;
  }

  ProxyHarness a, b;
  const std::string old_key = random_key();
};

TEST_F(Resumption, InstancesSharingTicketKeysResumeEachOthersSessions) {
  a.start_text(config(""), a.dir().path());
  b.start_text(config(""), a.dir().path());
  bssl::UniquePtr<SSL_SESSION> from_a;
  ASSERT_NE(request(a.port(), nullptr, &from_a).find("Hello, alice"), std::string::npos);
  ASSERT_TRUE(from_a);
  EXPECT_NE(request(b.port(), from_a.get()).find("Hello, alice"), std::string::npos);
  auto on_b = b.wait_for_log(1);
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b[0]["resumed"], true);

  // Rolling a new key out: the first key seals, the second still opens the sessions of instances
  // that have not got the new file yet; theirs cannot open the new tickets.
  write_keys("tickets-next.key", {random_key(), old_key});
  ProxyHarness c;
  c.start_text(config("", {}, "tickets-next.key"), a.dir().path());
  bssl::UniquePtr<SSL_SESSION> from_c;
  EXPECT_NE(request(c.port(), from_a.get(), &from_c).find("Hello, alice"), std::string::npos);
  ASSERT_TRUE(from_c);
  EXPECT_NE(request(a.port(), from_c.get()).find("Hello, alice"), std::string::npos);
  auto on_c = c.wait_for_log(1);
  auto on_a = a.wait_for_log(2);
  ASSERT_EQ(on_c.size(), 1u);
  ASSERT_EQ(on_a.size(), 2u);
  EXPECT_EQ(on_c[0]["resumed"], true);   // the old key still decrypts
  EXPECT_EQ(on_a[1]["resumed"], false);  // a new key's ticket: a full handshake, not a failure
}

// Keys Gatehouse makes itself belong to one server: another in the same process, with a listener
// of the same name, cannot open its tickets; a reload of the first one still can.
TEST_F(Resumption, TwoServersInOneProcessShareNoTicketKeysAndAReloadKeepsThem) {
  const std::string text = a.config_text({});  // no ticket_keys
  a.start_text(text, a.dir().path());
  b.start_text(text, a.dir().path());
  bssl::UniquePtr<SSL_SESSION> session;
  ASSERT_NE(request(a.port(), nullptr, &session).find("Hello, alice"), std::string::npos);
  ASSERT_TRUE(session);
  EXPECT_NE(request(b.port(), session.get()).find("Hello, alice"), std::string::npos);
  auto on_b = b.wait_for_log(1);
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b[0]["resumed"], false);  // a full handshake: b never saw a's keys

  ASSERT_TRUE(a.reload_text(text, a.dir().path()).ok);
  EXPECT_NE(request(a.port(), session.get()).find("Hello, alice"), std::string::npos);
  auto on_a = a.wait_for_log(2);
  ASSERT_EQ(on_a.size(), 2u);
  EXPECT_EQ(on_a[1]["resumed"], true);
}

TEST_F(Resumption, AResumedSessionIsAuthorizedAgainstTheCurrentRoutes) {
  a.start_text(config(""), a.dir().path());
  bssl::UniquePtr<SSL_SESSION> session;
  ASSERT_NE(request(a.port(), nullptr, &session).find("Hello, alice"), std::string::npos);
  ProxyConfig deny;
  deny.routes = "  [[listener.route]]\n  upstream = \"app\"\n  deny = [ { cn = \"alice\" } ]\n";
  b.start_text(config("", deny), a.dir().path());
  EXPECT_EQ(request(b.port(), session.get()), "");
  auto refused = b.wait_for_log(1);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["resumed"], true);
  EXPECT_EQ(refused[0]["reason"], "policy_denied") << refused[0].dump();
}

TEST_F(Resumption, ResumedSessionWithARevokedCertificateIsRefused) {
  a.start_text(config(""), a.dir().path());
  bssl::UniquePtr<SSL_SESSION> session;
  ASSERT_NE(request(a.port(), nullptr, &session).find("Hello, alice"), std::string::npos);
  ASSERT_TRUE(session);
  // The same instance resumes it.
  EXPECT_NE(request(a.port(), session.get()).find("Hello, alice"), std::string::npos);
  auto log = a.wait_for_log(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["resumed"], true);

  // A second instance with the same ticket keys but a CRL revoking alice: the ticket is
  // accepted, and the re-check refuses.
  auto alice = tls::read_certificates(a.dir() / "alice.pem");
  const std::int64_t now = std::time(nullptr);
  std::vector<tls::ca::IndexEntry> revoked = {{tls::serial_text(alice->front().get()), "", "",
                                               tls::subject_line(a.intermediate().x509.get()), "client", 0, 0, true,
                                               now - 60, "keyCompromise"}};
  auto crl = tls::ca::signed_crl_pem(a.intermediate().x509.get(), a.intermediate().key.get(), revoked, 1, now - 60,
                                     now + 86400);
  ASSERT_TRUE(crl);
  a.dir().write("crl.pem", *crl);
  b.start_text(config("  crl = \"crl.pem\"\n"), a.dir().path());
  EXPECT_EQ(request(b.port(), session.get()), "");
  auto refused = b.wait_for_log(1);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["resumed"], true);
  EXPECT_EQ(refused[0]["reason"], "revoked") << refused[0].dump();
}

TEST_F(Resumption, AnotherSetOfClientCasMakesOldSessionsUnusable) {
  a.start_text(config(""), a.dir().path());
  bssl::UniquePtr<SSL_SESSION> session;
  ASSERT_NE(request(a.port(), nullptr, &session).find("Hello, alice"), std::string::npos);
  Cert other = make_root("Other Root", "Other Org");
  a.dir().write("roots.pem", tls::to_pem(a.root().x509.get()) + tls::to_pem(other.x509.get()));
  std::string text = config("");
  text.replace(text.find("client_ca = \"root.pem\""), 22, "client_ca = \"roots.pem\"");
  b.start_text(text, a.dir().path());
  EXPECT_NE(request(b.port(), session.get()).find("Hello, alice"), std::string::npos);
  auto log = b.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["resumed"], false);  // a full handshake, verified from scratch
}

}  // namespace
}  // namespace gatehouse::test
