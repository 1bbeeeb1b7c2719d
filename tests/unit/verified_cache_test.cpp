// The verified-certificate fast path (repeat clients and resumed sessions): a chain that verified
// once is re-checked against dates and CRLs from its recorded facts alone; anything doubtful
// sends it back to a full verification. The per-thread cache is bounded and can be turned off.
#include <gtest/gtest.h>

#include <ctime>
#include <thread>

#include "tests/support/test_pki.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"
#include "tls/verified_cache.hpp"

namespace gatehouse::tls {
namespace {

using pki::CertSpec;
using test::Cert;

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
    for (auto& s : serials)
      entries.push_back({s, "", "", subject_line(inter.x509.get()), "client", 0, 0, true, now - 60, ""});
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

std::string der_of(const Cert& cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(cert.x509.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

TEST(ResumeCheck, TheRecordedPathIsTheVerifiedOneWithoutLeafRootOrExtras) {
  Fixture f;
  Cert stranger = test::make_leaf(CertSpec{.cn = "mallory"}, nullptr);
  Cert sibling = test::make_leaf(CertSpec{.cn = "bob", .o = {"Acme"}}, &f.inter);
  ChainVerifier sent_only(f.anchors(), {}, {}, {});
  VerifiedChain facts;
  ASSERT_EQ(sent_only.verify(f.leaf.x509.get(), Fixture::certs({&stranger, &f.inter, &sibling}), &facts).reason,
            Reason::ok);
  ASSERT_NE(facts.path_der, nullptr);
  EXPECT_EQ(*facts.path_der, std::vector<std::string>{der_of(f.inter)});
  // Not sent but configured (client_intermediates): the same path.
  ChainVerifier configured(f.anchors(), Fixture::certs({&f.inter}), {}, {});
  VerifiedChain from_config;
  ASSERT_EQ(configured.verify(f.leaf.x509.get(), {}, &from_config).reason, Reason::ok);
  EXPECT_EQ(*from_config.path_der, *facts.path_der);
  // Issued by the anchor itself: an empty path.
  Cert direct = test::make_leaf(CertSpec{.cn = "carol", .o = {"Acme"}}, &f.root);
  VerifiedChain short_path;
  ASSERT_EQ(configured.verify(direct.x509.get(), {}, &short_path).reason, Reason::ok);
  ASSERT_NE(short_path.path_der, nullptr);
  EXPECT_TRUE(short_path.path_der->empty());
}

TEST(VerifiedCache, AnEntryGivesBackTheChainItWasStoredWithAndEqualPathsAreShared) {
  const std::string a(32, 'a'), b(32, 'b');
  auto entry = [](std::vector<std::string> path) {
    VerifiedEntry e;
    e.chain.path_der = std::make_shared<const std::vector<std::string>>(std::move(path));
    return e;
  };
  VerifiedCache::store(11, a, entry({"inter-der", "upper-der"}));
  VerifiedCache::store(11, b, entry({"inter-der", "upper-der"}));
  const VerifiedEntry* first = VerifiedCache::find(11, a);
  const VerifiedEntry* second = VerifiedCache::find(11, b);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_NE(first->chain.path_der, nullptr);
  EXPECT_EQ(*first->chain.path_der, (std::vector<std::string>{"inter-der", "upper-der"}));
  EXPECT_EQ(first->chain.path_der, second->chain.path_der);  // one copy for both
  VerifiedCache::store(11, a, entry({"other-der"}));         // the same key verified anew
  EXPECT_EQ(*VerifiedCache::find(11, a)->chain.path_der, std::vector<std::string>{"other-der"});
  EXPECT_EQ(*VerifiedCache::find(11, b)->chain.path_der, (std::vector<std::string>{"inter-der", "upper-der"}));
}

TEST(VerifiedCache, RemembersPerConfigUpToItsCapacityAndNothingWhenZero) {
  const std::string a(32, 'a'), b(32, 'b'), c(32, 'c');
  VerifiedCache::set_thread_capacity(2);
  VerifiedCache::store(7, a, {});
  VerifiedCache::store(7, b, {});
  EXPECT_NE(VerifiedCache::find(7, a), nullptr);
  EXPECT_EQ(VerifiedCache::find(8, a), nullptr);  // another config (context) never sees it
  VerifiedCache::store(7, c, {});                 // full: the oldest (a) forgotten, b kept
  EXPECT_EQ(VerifiedCache::find(7, a), nullptr);
  EXPECT_NE(VerifiedCache::find(7, b), nullptr);
  EXPECT_NE(VerifiedCache::find(7, c), nullptr);
  VerifiedCache::store(7, b, {});  // verified anew: still one entry, and still the oldest
  VerifiedCache::store(7, a, {});
  EXPECT_EQ(VerifiedCache::find(7, b), nullptr);
  EXPECT_NE(VerifiedCache::find(7, c), nullptr);
  EXPECT_NE(VerifiedCache::find(7, a), nullptr);
  EXPECT_EQ(VerifiedCache::find(7, ""), nullptr);  // no certificate, no entry

  VerifiedCache::set_thread_capacity(0);
  VerifiedCache::store(9, a, {});
  EXPECT_EQ(VerifiedCache::find(9, a), nullptr);
  VerifiedCache::set_thread_capacity(16384);
}

// Two servers in one process: each worker thread keeps the capacity its own server set.
TEST(VerifiedCache, EachThreadHasItsOwnCapacity) {
  const std::string a(32, 'a');
  VerifiedCache::set_thread_capacity(0);  // this thread: a worker of a server with verified_cache = 0
  bool other_remembers = false;
  std::thread other([&] {
    VerifiedCache::set_thread_capacity(4);
    VerifiedCache::store(5, a, {});
    other_remembers = VerifiedCache::find(5, a) != nullptr;
  });
  other.join();
  EXPECT_TRUE(other_remembers);
  VerifiedCache::store(5, a, {});
  EXPECT_EQ(VerifiedCache::find(5, a), nullptr);
  VerifiedCache::set_thread_capacity(16384);
}

}  // namespace
}  // namespace gatehouse::tls
