// CRL distribution points: `gatehouse ca init --crl-url` makes every certificate name its CRL,
// `ca crl` writes the DER files to publish, and the proxy's admin listener serves the CRLs it
// loaded at those URLs, which `openssl verify -crl_download` (a real revocation checker) follows.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {
namespace {

const std::string kBinary = GATEHOUSE_BINARY;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

CommandResult gh(const std::string& args) { return run_command(kBinary + " " + args); }

// The proxy serves its own (harness) server certificate; the client side comes from `ca`.
std::string proxy_config(const std::string& client_side) {
  return "[server]\nworkers = 1\n[log]\nlevel = \"warn\"\n[[listener]]\nlisten = \"127.0.0.1:0\"\n  [listener.tls]\n"
         "  certificates = [{ cert = \"server-ecdsa.pem\", key = \"server-ecdsa.key\" }]\n" +
         client_side +
         "  [[listener.route]]\n  upstream = \"who\"\n[[upstream]]\nname = \"who\"\nendpoints = [\"builtin:whoami\"]\n";
}

TEST(CrlPublication, CertificatesNameTheirCrlAndTheAdminListenerServesIt) {
  ProxyHarness proxy;
  proxy.start_text(proxy_config("  client_ca = \"root.pem\"\n"), proxy.dir().path());
  const std::string admin = "http://127.0.0.1:" + std::to_string(proxy.server().admin_port());
  const std::string ca = (proxy.dir().path() / "ca").string();

  auto init = gh("ca init " + ca + " --name 'Acme Root' --crl-url " + admin + "/crl/");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  EXPECT_NE(init.output.find("certificates will name " + admin + "/crl/HASH.crl"), std::string::npos) << init.output;
  ASSERT_EQ(gh("ca intermediate " + ca + " --name 'Acme Intermediate'").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --cn bob").exit_code, 0);
  ASSERT_EQ(gh("ca revoke " + ca + " " + ca + "/issued/bob.pem --reason keyCompromise").exit_code, 0);
  auto written = gh("ca crl " + ca);
  ASSERT_EQ(written.exit_code, 0) << written.output;

  // Each certificate names its issuer's CRL by the issuer hash openssl computes too.
  const std::string inter_hash =
      trimmed(run_command("openssl x509 -noout -issuer_hash -in " + ca + "/issued/alice.pem").output);
  const std::string root_hash =
      trimmed(run_command("openssl x509 -noout -issuer_hash -in " + ca + "/intermediate.pem").output);
  ASSERT_EQ(inter_hash.size(), 8u) << inter_hash;
  ASSERT_NE(inter_hash, root_hash);
  auto cdp = run_command("openssl x509 -noout -ext crlDistributionPoints -in " + ca + "/issued/alice.pem");
  EXPECT_NE(cdp.output.find("URI:" + admin + "/crl/" + inter_hash + ".crl"), std::string::npos) << cdp.output;
  auto inspected = gh("inspect " + ca + "/issued/alice.pem");  // what a tester sees, in plain words
  EXPECT_NE(inspected.output.find("CRL at:      " + admin + "/crl/" + inter_hash + ".crl"), std::string::npos)
      << inspected.output;
  cdp = run_command("openssl x509 -noout -ext crlDistributionPoints -in " + ca + "/intermediate.pem");
  EXPECT_NE(cdp.output.find("URI:" + admin + "/crl/" + root_hash + ".crl"), std::string::npos) << cdp.output;
  // `ca crl` wrote both as DER, for a web server to publish.
  for (const auto& hash : {inter_hash, root_hash}) {
    auto der = run_command("openssl crl -inform DER -noout -hash -in " + ca + "/crl/" + hash + ".crl");
    EXPECT_EQ(trimmed(der.output), hash) << der.output;
  }

  const std::string verify =
      "openssl verify -crl_check -crl_download -CAfile " + ca + "/root.pem -untrusted " + ca + "/intermediate.pem ";
  // Before the proxy loads the CRL there is nothing at the URL: the checker cannot vouch.
  auto listing = run_command("curl -sS " + admin + "/crl/");
  EXPECT_NE(listing.output.find("no listener loads a CRL"), std::string::npos) << listing.output;
  EXPECT_NE(run_command(verify + ca + "/issued/alice.pem").exit_code, 0);

  auto reloaded =
      proxy.reload_text(proxy_config("  client_ca = \"ca/root.pem\"\n  client_intermediates = \"ca/intermediate.pem\"\n"
                                     "  crl = \"ca/crl.pem\"\n"),
                        proxy.dir().path());
  ASSERT_TRUE(reloaded.ok) << reloaded.message;
  listing = run_command("curl -sS " + admin + "/crl/");
  EXPECT_NE(listing.output.find(inter_hash + ".crl  CN=Acme Intermediate,O=Acme Root"), std::string::npos)
      << listing.output;
  EXPECT_NE(listing.output.find(root_hash + ".crl  CN=Acme Root,O=Acme Root"), std::string::npos) << listing.output;
  auto fetched = proxy.dir().path() / "fetched.crl";
  auto got = run_command("curl -sS -o " + fetched.string() + " -w '%{http_code} %{content_type}' " + admin + "/crl/" +
                         inter_hash + ".crl");
  EXPECT_EQ(got.output, "200 application/pkix-crl");
  EXPECT_EQ(slurp(fetched.string()), slurp(ca + "/crl/" + inter_hash + ".crl"));
  EXPECT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' " + admin + "/crl/00000000.crl").output, "404");

  auto alice = run_command(verify + ca + "/issued/alice.pem");
  EXPECT_EQ(alice.exit_code, 0) << alice.output;
  auto bob = run_command(verify + ca + "/issued/bob.pem");
  EXPECT_NE(bob.exit_code, 0);
  EXPECT_NE(bob.output.find("certificate revoked"), std::string::npos) << bob.output;
  auto inter =
      run_command("openssl verify -crl_check -crl_download -CAfile " + ca + "/root.pem " + ca + "/intermediate.pem");
  EXPECT_EQ(inter.exit_code, 0) << inter.output;
}

TEST(CrlPublication, ABadCrlUrlIsRefusedWithTheReason) {
  TempDir tmp;
  const std::string ca = (tmp.path() / "ca").string();
  for (const char* url :
       {"https://pki.example.com/crl", "ftp://x/y", "http://a.test/x,y", "http://a.test/caf\u00e9", "http://"}) {
    auto r = gh("ca init " + ca + " --name R --crl-url '" + std::string(url) + "'");
    EXPECT_NE(r.exit_code, 0) << url;
    EXPECT_NE(r.output.find("the CRL URL '" + std::string(url) + "' must"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(ca + "/ca.json"));
  }
  // A crl_url edited by hand into ca.json is checked the same way when the folder is used.
  ASSERT_EQ(gh("ca init " + ca + " --name R").exit_code, 0);
  std::string meta = slurp(ca + "/ca.json");
  tmp.write("ca/ca.json", meta.substr(0, meta.rfind('}')) + ", \"crl_url\": \"https://pki.example.com\"}\n");
  auto issue = gh("ca issue " + ca + " --cn alice");
  EXPECT_NE(issue.exit_code, 0);
  EXPECT_NE(issue.output.find("ca.json: the CRL URL 'https://pki.example.com' must be a plain http:// URL"),
            std::string::npos)
      << issue.output;
}

TEST(CrlPublication, TheUrlCanBeSetChangedOrRemovedLater) {
  TempDir tmp;
  const std::string ca = (tmp.path() / "ca").string();
  auto cdp_of = [&](const std::string& name) {
    return run_command("openssl x509 -noout -text -in " + ca + "/issued/" + name + ".pem").output;
  };
  ASSERT_EQ(gh("ca init " + ca + " --name R").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice").exit_code, 0);
  EXPECT_EQ(cdp_of("alice").find("CRL Distribution Points"), std::string::npos);

  auto set = gh("ca crl-url " + ca + " http://pki.test/crl/");
  ASSERT_EQ(set.exit_code, 0) << set.output;
  EXPECT_NE(set.output.find("name http://pki.test/crl/HASH.crl"), std::string::npos) << set.output;
  ASSERT_EQ(gh("ca issue " + ca + " --cn bob").exit_code, 0);
  const std::string hash =
      trimmed(run_command("openssl x509 -noout -issuer_hash -in " + ca + "/issued/bob.pem").output);
  EXPECT_NE(cdp_of("bob").find("URI:http://pki.test/crl/" + hash + ".crl"), std::string::npos) << cdp_of("bob");

  auto refused = gh("ca crl-url " + ca + " https://pki.test/crl");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("must be a plain http:// URL"), std::string::npos) << refused.output;
  EXPECT_NE(slurp(ca + "/ca.json").find("\"crl_url\": \"http://pki.test/crl\""), std::string::npos);  // unchanged

  ASSERT_EQ(gh("ca crl-url " + ca + " ''").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --cn carol").exit_code, 0);
  EXPECT_EQ(cdp_of("carol").find("CRL Distribution Points"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::test
