// The verified-certificate fast path (repeat clients and resumed sessions): a chain that verified
// once is re-checked against dates and CRLs from its recorded facts alone; anything doubtful
// sends it back to a full verification. The per-thread cache is bounded and can be turned off.
#include <gtest/gtest.h>

#include <ctime>

#include "tests/support/test_pki.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"
#include "tls/verified_cache.hpp"

namespace gatehouse::tls {
namespace {

using test::Cert;
using pki::CertSpec;

struct Fixture {
  Cert root = test::make_root("Root", "Acme");
  Cert inter = test::make_intermediate("Inter", "Acme", root);
  Cert leaf = test::make_leaf(CertSpec{.cn = "alice", .o = {"Acme"}, .not_after = 30 * 86400}, &inter);

  CertChain anchors() const { return certs({&root}); }
  static CertChain certs(std::initializer_list<const Cert*> list) {
    CertChain out;
    for (const auto* c : list) out.push_back(bssl::UpRef(c->x509));
    return out;
  }
  // A CRL from the intermediate, revoking `serials`, valid from an hour ago until `next_update`.
  CrlList crl(const std::vector<std::string>& serials, std::int64_t next_update) const {
    std::int64_t now = std::time(nullptr);
    std::vector<ca::IndexEntry> entries;
    for (auto& s : serials) entries.push_back({s, "", "", subject_line(inter.x509.get()), "client", 0, 0, true, now - 60, ""});
    auto pem = ca::signed_crl_pem(inter.x509.get(), inter.key.get(), entries, 1, now - 3600, next_update);
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    CrlList out;
    out.emplace_back(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    return out;
  }
};

TEST(ResumeCheck, AVerifiedChainStaysValidUntilItsDatesOrACrlSayOtherwise) {
  Fixture f;
  const std::int64_t now = std::time(nullptr);
  ChainVerifier plain(f.anchors(), Fixture::certs({&f.inter}), {}, {});
  VerifiedChain facts;
  ASSERT_EQ(plain.verify(f.leaf.x509.get(), {}, &facts).reason, Reason::ok);
  EXPECT_EQ(facts.certificates.size(), 2u);  // leaf and intermediate; never the anchor
  EXPECT_TRUE(plain.still_valid(facts, now));
  EXPECT_FALSE(plain.still_valid(facts, now + 31 * 86400));  // the leaf has expired by then

  const std::string serial = serial_text(f.leaf.x509.get());
  ChainVerifier revoking(f.anchors(), Fixture::certs({&f.inter}), f.crl({serial}, now + 86400), {});
  EXPECT_FALSE(revoking.still_valid(facts, now));
  ChainVerifier clean(f.anchors(), Fixture::certs({&f.inter}), f.crl({}, now + 86400), {});
  EXPECT_TRUE(clean.still_valid(facts, now));
  // A stale CRL: only crl_stale = "warn" accepts it; otherwise verify in full (which refuses).
  ChainVerifier stale(f.anchors(), Fixture::certs({&f.inter}), f.crl({}, now - 60), {});
  EXPECT_FALSE(stale.still_valid(facts, now));
  ChainVerifier tolerant(f.anchors(), Fixture::certs({&f.inter}), f.crl({}, now - 60), {.accept_stale_crl = true});
  EXPECT_TRUE(tolerant.still_valid(facts, now));
}

TEST(ResumeCheck, NothingIsRecordedForAChainThatFailed) {
  Fixture f;
  Cert other = test::make_root("Other", "Elsewhere");
  ChainVerifier verifier(Fixture::certs({&other}), {}, {}, {});
  VerifiedChain facts;
  EXPECT_NE(verifier.verify(f.leaf.x509.get(), Fixture::certs({&f.inter}), &facts).reason, Reason::ok);
  EXPECT_TRUE(facts.certificates.empty());
}

TEST(VerifiedCache, RemembersPerConfigUpToItsCapacityAndNothingWhenZero) {
  const std::string a(32, 'a'), b(32, 'b'), c(32, 'c');
  VerifiedCache::set_capacity(2);
  VerifiedCache::store(7, a, {});
  VerifiedCache::store(7, b, {});
  EXPECT_NE(VerifiedCache::find(7, a), nullptr);
  EXPECT_EQ(VerifiedCache::find(8, a), nullptr);  // another config (context) never sees it
  VerifiedCache::store(7, c, {});                 // full: emptied, then c
  EXPECT_EQ(VerifiedCache::find(7, a), nullptr);
  EXPECT_NE(VerifiedCache::find(7, c), nullptr);
  EXPECT_EQ(VerifiedCache::find(7, ""), nullptr);  // no certificate, no entry

  VerifiedCache::set_capacity(0);
  VerifiedCache::store(9, a, {});
  EXPECT_EQ(VerifiedCache::find(9, a), nullptr);
  VerifiedCache::set_capacity(16384);
}

}  // namespace
}  // namespace gatehouse::tls
