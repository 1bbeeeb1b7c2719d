// verify = "optional" in http mode: the handshake completes and each refusal is a page that
// says what happened and what to do (HTML, or JSON for API clients), with the same reason
// keyword as the access log. Nothing about the policy is shown.
#include <gtest/gtest.h>

#include <ctime>

#include "conf/parse.hpp"
#include "tests/support/command.hpp"
#include "tests/support/http_upstream.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::CertSpec;

class RefusalPage : public testing::Test {
 protected:
  void start(const std::string& http_extra = "", const std::string& routes = "", bool crl = false) {
    ProxyConfig c;
    c.endpoints = {up.endpoint()};
    c.listener_extra = "mode = \"http\"";
    c.verify = "optional";
    c.http_extra = http_extra;
    c.routes = routes;
    std::string config = proxy.config_text(c);
    if (crl) config.replace(config.find("  verify = "), 0, "  crl = \"crl.pem\"\n");
    proxy.start_text(config, proxy.dir().path());
  }

  // Status line, then the body.
  std::string get(const std::string& cert, const std::string& key, bool json = false) {
    std::string d = proxy.dir().path().string();
    std::string auth = cert.empty() ? "" : " --cert " + d + "/" + cert + " --key " + d + "/" + key;
    auto r = run_command("curl -sS --max-time 10 -w '\\n%{http_code}' --cacert " + d + "/root.pem" + auth +
                         (json ? " -H 'Accept: application/json'" : "") +
                         " https://localhost:" + std::to_string(proxy.port()) + "/");
    auto nl = r.output.rfind('\n');
    return r.output.substr(nl + 1) + "\n" + r.output.substr(0, nl);
  }

  void write_leaf(const std::string& name, CertSpec spec, const Cert& issuer) {
    Cert leaf = make_leaf(std::move(spec), &issuer);
    write_chain(proxy.dir(), name + ".pem", {&leaf, &proxy.intermediate()});
    write_key(proxy.dir(), name + ".key", leaf);
  }

  std::string last_reason() {
    auto log = proxy.wait_for_log(++lines);
    return log.size() == lines ? log.back()["reason"].get<std::string>() : "";
  }

  HttpUpstream up;
  ProxyHarness proxy;
  size_t lines = 0;
};

TEST_F(RefusalPage, NoCertificateExplainsHowToInstallOne) {
  start();
  auto page = get("", "");
  EXPECT_EQ(page.rfind("403\n", 0), 0u) << page;
  EXPECT_NE(page.find("A client certificate is needed"), std::string::npos) << page;
  EXPECT_NE(page.find(".p12"), std::string::npos);
  for (const char* browser : {"Chrome", "Firefox", "macOS", "Windows"})
    EXPECT_NE(page.find(browser), std::string::npos) << browser;
  EXPECT_NE(page.find("<code>no_certificate</code>"), std::string::npos);
  EXPECT_EQ(last_reason(), "no_certificate");

  auto json = get("", "", true);
  auto body = nlohmann::json::parse(json.substr(json.find('\n') + 1), nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << json;
  EXPECT_EQ(body["status"], 403);
  EXPECT_EQ(body["reason"], "no_certificate");
  EXPECT_FALSE(body["steps"].empty());
  EXPECT_TRUE(up.requests().empty());
  EXPECT_EQ(proxy.totals().refused[static_cast<size_t>(gatehouse::Reason::no_certificate)], 2u);
}

TEST_F(RefusalPage, ExpiredCertificateNamesTheDate) {
  write_leaf("old", CertSpec{.cn = "old", .o = {"Acme Test"}, .not_before = -10 * 86400, .not_after = -86400},
             proxy.intermediate());
  start();
  auto certs = tls::read_certificates(proxy.dir() / "old.pem");
  std::string date = tls::iso8601(tls::unix_time(X509_get0_notAfter(certs->front().get()))).substr(0, 10);
  auto page = get("old.pem", "old.key");
  EXPECT_EQ(page.rfind("403\n", 0), 0u) << page;
  EXPECT_NE(page.find("Your certificate has expired"), std::string::npos) << page;
  EXPECT_NE(page.find("expired on " + date), std::string::npos) << page;
  EXPECT_EQ(last_reason(), "expired");
}

TEST_F(RefusalPage, CertificateFromAnotherCa) {
  Cert other_root = make_root("Other Root", "Elsewhere Inc");
  Cert stranger = make_leaf(CertSpec{.cn = "stranger", .o = {"Elsewhere Inc"}}, &other_root);
  write_chain(proxy.dir(), "stranger.pem", {&stranger});
  write_key(proxy.dir(), "stranger.key", stranger);
  start();
  auto json = get("stranger.pem", "stranger.key", true);
  auto body = nlohmann::json::parse(json.substr(json.find('\n') + 1), nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << json;
  EXPECT_EQ(body["reason"], "untrusted_issuer");
  EXPECT_NE(body["message"].get<std::string>().find("Other Root"), std::string::npos) << json;
  EXPECT_EQ(last_reason(), "untrusted_issuer");
}

TEST_F(RefusalPage, RevokedCertificate) {
  const std::int64_t now = std::time(nullptr);
  auto alice = tls::read_certificates(proxy.dir() / "alice.pem");
  std::vector<tls::ca::IndexEntry> entries{{tls::serial_text(alice->front().get()), "", "",
                                            tls::subject_line(proxy.intermediate().x509.get()), "client", 0, 0, true,
                                            now - 60, "keyCompromise"}};
  auto a = tls::ca::signed_crl_pem(proxy.intermediate().x509.get(), proxy.intermediate().key.get(), entries, 1,
                                   now - 3600, now + 86400);
  auto b = tls::ca::signed_crl_pem(proxy.root().x509.get(), proxy.root().key.get(), {}, 1, now - 3600, now + 86400);
  ASSERT_TRUE(a && b);
  proxy.dir().write("crl.pem", *a + *b);
  start("", "", true);
  auto page = get("alice-chain.pem", "alice.key");
  EXPECT_NE(page.find("Your certificate has been revoked"), std::string::npos) << page;
  EXPECT_EQ(last_reason(), "revoked");
}

// A CRL past its next update refuses everyone of that CA (crl_stale = "reject"), but it is the
// site's fault: the page must not tell a valid tester that their certificate was revoked.
TEST_F(RefusalPage, AStaleCrlIsTheSitesProblemNotTheTesters) {
  const std::int64_t now = std::time(nullptr);
  auto a = tls::ca::signed_crl_pem(proxy.intermediate().x509.get(), proxy.intermediate().key.get(), {}, 1,
                                   now - 3 * 86400, now - 86400);
  auto b = tls::ca::signed_crl_pem(proxy.root().x509.get(), proxy.root().key.get(), {}, 1, now - 3600, now + 86400);
  ASSERT_TRUE(a && b);
  proxy.dir().write("crl.pem", *a + *b);
  start("  refusal_codes = \"nginx\"\n", "", true);  // the default answers every refusal 403
  auto page = get("alice-chain.pem", "alice.key");
  EXPECT_EQ(page.rfind("503\n", 0), 0u) << page;
  EXPECT_NE(page.find("This site cannot check certificates right now"), std::string::npos) << page;
  EXPECT_NE(page.find("not your fault"), std::string::npos) << page;
  EXPECT_EQ(page.find("revoked"), std::string::npos) << page;
  EXPECT_EQ(last_reason(), "crl_unavailable");
  EXPECT_TRUE(up.requests().empty());
}

// Every refusal page says whom to ask and what to quote: the time and the connection id that
// the access log line carries.
TEST_F(RefusalPage, TheTesterCanQuoteAReferenceTheLogHas) {
  start("  contact = \"the QA lead <qa-lead@acme.example>\"\n");
  auto page = get("", "");
  auto log = proxy.wait_for_log(++lines);
  ASSERT_EQ(log.size(), lines);
  const std::string id = log.back()["id"];
  EXPECT_FALSE(id.empty()) << log.back().dump();
  EXPECT_NE(page.find("If you need help, ask the QA lead &lt;qa-lead@acme.example&gt; and quote: <code>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find(" UTC, ref " + id + "</code>"), std::string::npos) << page;
  EXPECT_NE(page.find("Already installed it?"), std::string::npos) << page;

  auto json = get("", "", true);
  auto body = nlohmann::json::parse(json.substr(json.find('\n') + 1), nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << json;
  EXPECT_EQ(body["contact"], "the QA lead <qa-lead@acme.example>");
  auto second = proxy.wait_for_log(++lines).back();
  EXPECT_NE(body["reference"].get<std::string>().find("ref " + second["id"].get<std::string>()), std::string::npos)
      << body.dump();
  EXPECT_NE(second["id"], id) << "each connection has its own id";
}

// The page names the site the tester opened (the SNI), not the route's name, which is for the log.
TEST_F(RefusalPage, NotAllowedNamesTheServiceNotThePolicy) {
  start("",
        "  [[listener.route]]\n  name = \"internal-route-7\"\n  upstream = \"app\"\n  allow = [ { ou = "
        "\"release-managers\" } ]\n");
  auto page = get("alice-chain.pem", "alice.key");
  EXPECT_EQ(page.rfind("403\n", 0), 0u) << page;
  EXPECT_NE(page.find("not allowed on this service"), std::string::npos) << page;
  EXPECT_NE(page.find("the service &quot;localhost&quot;"), std::string::npos) << page;
  EXPECT_EQ(page.find("internal-route-7"), std::string::npos) << page;
  EXPECT_EQ(page.find("release-managers"), std::string::npos) << page;  // no policy internals
  EXPECT_EQ(last_reason(), "policy_denied");
  EXPECT_TRUE(up.requests().empty());
}

TEST_F(RefusalPage, NginxStyleCodes) {
  write_leaf("old", CertSpec{.cn = "old", .o = {"Acme Test"}, .not_before = -10 * 86400, .not_after = -86400},
             proxy.intermediate());
  start("  refusal_codes = \"nginx\"\n");
  EXPECT_EQ(get("", "").rfind("496\n", 0), 0u);
  EXPECT_EQ(get("old.pem", "old.key").rfind("495\n", 0), 0u);
  // A valid certificate still gets through to the upstream.
  EXPECT_EQ(get("alice-chain.pem", "alice.key").rfind("200\n", 0), 0u);
  EXPECT_EQ(up.requests().size(), 1u);
}

TEST_F(RefusalPage, TcpModeCannotBeOptional) {
  ProxyConfig c;
  c.verify = "optional";
  auto parsed = conf::parse_text(proxy.config_text(c), "t.toml", proxy.dir().path());
  ASSERT_FALSE(parsed.settings);
  EXPECT_NE(parsed.diagnostics.to_string().find("verify = \"optional\" needs mode = \"http\""), std::string::npos)
      << parsed.diagnostics.to_string();
}

}  // namespace
}  // namespace gatehouse::test
