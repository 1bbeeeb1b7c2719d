// The dev PKI behind the embedded default: made once and reused, remade when a part is missing,
// and its certificates name CRLs that the embedded default loads and its admin listener serves.
#include <gtest/gtest.h>

#include "app/default_config.hpp"
#include "conf/parse.hpp"
#include "proxy/admin/crl_endpoint.hpp"
#include "tests/support/test_pki.hpp"
#include "tls/crl_publication.hpp"
#include "tls/pem_io.hpp"
#include "tls/pki/dev_pki.hpp"

namespace gatehouse::test {
namespace {

// The URI of a certificate's single CRL distribution point; empty if it has none or several.
std::string distribution_point(X509* cert) {
  auto urls = tls::crl_distribution_urls(cert);
  return urls.size() == 1 ? urls.front() : "";
}

TEST(DevPki, IsMadeOnceAndRemadeWhenAPartIsMissing) {
  TempDir tmp;
  bool created = false;
  auto pki = tls::pki::ensure_dev_pki(tmp / "pki", &created);
  ASSERT_TRUE(pki) << pki.error();
  EXPECT_TRUE(created);
  ASSERT_TRUE(tls::pki::ensure_dev_pki(tmp / "pki", &created));
  EXPECT_FALSE(created);
  std::filesystem::remove(pki->crl());
  ASSERT_TRUE(tls::pki::ensure_dev_pki(tmp / "pki", &created));
  EXPECT_TRUE(created);
  auto crls = tls::read_crls(pki->crl());
  ASSERT_TRUE(crls) << crls.error();
  EXPECT_EQ(crls->size(), 2u);
}

TEST(DevPki, TheEmbeddedDefaultLoadsAndPublishesTheCrlsItsCertificatesName) {
  TempDir tmp;
  auto pki = tls::pki::ensure_dev_pki(tmp / "pki");
  ASSERT_TRUE(pki) << pki.error();
  auto parsed = conf::parse_text(app::default_config_text(), "<embedded default>", pki->dir);
  ASSERT_TRUE(parsed.settings) << parsed.diagnostics.to_string();
  conf::Diagnostics problems;
  auto snapshot = proxy::build_snapshot(*parsed.settings, problems);
  ASSERT_TRUE(snapshot) << problems.to_string();
  EXPECT_EQ(problems.warnings_to_string(), "");  // fresh CRLs, long-lived certificates
  ASSERT_EQ(snapshot->listeners.size(), 1u);
  EXPECT_EQ(snapshot->listeners[0].tls->crls().size(), 2u);

  auto tester = tls::read_certificates(pki->tester_chain());
  auto server = tls::read_certificates(pki->server_chain());
  auto inter = tls::read_certificates(pki->intermediate_cert());
  ASSERT_TRUE(tester && server && inter);
  const std::string base = std::string("http://") + tls::pki::kDevAdminAddress + "/crl/";
  const std::string inter_crl = tls::crl_file_name(X509_get_subject_name(inter->front().get()));
  EXPECT_EQ(distribution_point(tester->front().get()), base + inter_crl);
  EXPECT_EQ(distribution_point(server->front().get()), base + inter_crl);
  const std::string root_crl = tls::crl_file_name(X509_get_issuer_name(inter->front().get()));
  EXPECT_EQ(distribution_point(inter->front().get()), base + root_crl);

  // What the admin listener answers at those names: the CRLs of crl.pem, in DER.
  auto listing = proxy::admin::published_crl(*snapshot, "");
  EXPECT_NE(listing.body.find(inter_crl + "  CN=Gatehouse Dev Intermediate CA"), std::string::npos) << listing.body;
  EXPECT_NE(listing.body.find(root_crl + "  CN=Gatehouse Dev Root CA"), std::string::npos) << listing.body;
  auto crls = tls::read_crls(pki->crl());
  ASSERT_TRUE(crls);
  auto served = proxy::admin::published_crl(*snapshot, inter_crl);
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.content_type, "application/pkix-crl");
  EXPECT_EQ(served.body, tls::crl_der(crls->front().get()));
  EXPECT_EQ(proxy::admin::published_crl(*snapshot, "missing.crl").status, 404);
}

}  // namespace
}  // namespace gatehouse::test
