// SignatureMemo: what a worker remembers of the intermediates its clients send may skip work,
// never change an outcome. Random sequences of client certificates, chains sent with them and
// trust configurations (a reload is another verifier on the same thread) are judged as a
// handshake judges them (the memory first, the full verification for whatever it does not
// admit) and by the full verification alone: the outcomes must be the same, step by step.
#include <gtest/gtest.h>

#include <ctime>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/support/test_pki.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/der.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"
#include "tls/signature_memo.hpp"
#include "tls/verified_cache.hpp"

namespace gatehouse::tls {
namespace {

using pki::CertSpec;
using test::Cert;

Cert issued(const CertSpec& spec, EVP_PKEY* subject_key, const Cert& issuer, EVP_PKEY* signing_key = nullptr) {
  Cert c;
  c.key = bssl::UpRef(subject_key);
  auto cert = pki::issue_certificate(spec, subject_key, issuer.x509.get(), signing_key ? signing_key : issuer.key.get());
  if (!cert) throw std::runtime_error(cert.error());
  c.x509 = std::move(*cert);
  return c;
}

CrlList crl_of(const Cert& ca, std::initializer_list<const Cert*> revoked) {
  const std::string pem = test::crl_pem(ca, revoked);
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CrlList out;
  out.emplace_back(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  return out;
}

CertChain certs(const std::vector<const Cert*>& list) {
  CertChain out;
  for (const Cert* c : list) out.push_back(bssl::UpRef(c->x509));
  return out;
}

// The PKI: a root, an intermediate and its variants (the same name and key, other dates or
// serial), another intermediate, a look-alike root, and leaves of every kind.
struct Pki {
  Cert root = test::make_root("Memo Root", "Acme");
  Cert inter = test::make_intermediate("Memo Inter", "Acme", root);
  Cert expired = variant(-90 * 86400, -86400);
  Cert not_yet = variant(86400, 90 * 86400);
  Cert revoked = variant(-3600, 365 * 86400);  // another serial: revoked by the root's CRL
  Cert other = test::make_intermediate("Other Inter", "Acme", root);
  Cert fake_root = test::make_look_alike_root(root);
  Cert foreign = test::make_root("Foreign Root", "Elsewhere");
  std::vector<Cert> leaves;

  Cert variant(std::int64_t from, std::int64_t until) const { return test::make_variant(inter, root, from, until); }
  Cert leaf(const std::string& cn, const Cert& issuer, std::int64_t until = 30 * 86400,
            EVP_PKEY* signing_key = nullptr) const {
    auto key = pki::generate_key(pki::KeyType::ecdsa_p256);
    return issued(CertSpec{.cn = cn, .o = {"Acme"}, .not_after = until, .purpose = pki::Purpose::client}, key.get(),
                  issuer, signing_key);
  }
  Pki() {
    for (int i = 0; i < 6; ++i) leaves.push_back(leaf("client-" + std::to_string(i), inter));
    leaves.push_back(leaf("short-lived", inter, 2 * 86400));    // expired under the "later" verifier
    leaves.push_back(leaf("expired", inter, -60));               // expired now
    leaves.push_back(leaf("revoked", inter));                    // on the intermediate's CRL
    leaves.push_back(leaf("forged", inter, 30 * 86400, other.key.get()));  // names inter, signed by other
    leaves.push_back(leaf("other's", other));
    leaves.push_back(leaf("stranger", foreign));  // from a CA no verifier trusts
  }
};

// The chains a client may send after its certificate.
std::vector<std::vector<const Cert*>> sent_variants(const Pki& p) {
  return {{},
          {&p.inter},
          {&p.expired},
          {&p.not_yet},
          {&p.revoked},
          {&p.other},
          {&p.root, &p.inter},
          {&p.expired, &p.inter},
          {&p.inter, &p.expired},
          {&p.other, &p.inter},
          {&p.inter, &p.inter},
          {&p.foreign}};
}

// The trust configurations a listener may have had, one after another (a reload makes another).
std::vector<std::unique_ptr<ChainVerifier>> verifiers(const Pki& p) {
  CrlList crls = crl_of(p.root, {&p.revoked});
  for (auto& c : crl_of(p.inter, {&p.leaves[8]})) crls.push_back(std::move(c));
  std::vector<std::unique_ptr<ChainVerifier>> out;
  const CertChain anchors = certs({&p.root});
  out.push_back(std::make_unique<ChainVerifier>(anchors, CertChain{}, CrlList{}, VerifyOptions{}));
  out.push_back(std::make_unique<ChainVerifier>(anchors, CertChain{}, crls, VerifyOptions{}));
  out.push_back(std::make_unique<ChainVerifier>(certs({&p.fake_root}), CertChain{}, CrlList{}, VerifyOptions{}));
  out.push_back(std::make_unique<ChainVerifier>(anchors, certs({&p.inter}), crls, VerifyOptions{}));
  VerifyOptions later{.at = std::int64_t(std::time(nullptr)) + 5 * 86400};
  out.push_back(std::make_unique<ChainVerifier>(anchors, CertChain{}, CrlList{}, later));
  // Past the CRLs' next update: crl_stale = "warn" still uses them, "reject" refuses.
  VerifyOptions stale_warn{.at = later.at, .accept_stale_crl = true};
  out.push_back(std::make_unique<ChainVerifier>(anchors, CertChain{}, crls, stale_warn));
  out.push_back(std::make_unique<ChainVerifier>(anchors, CertChain{}, crls, VerifyOptions{.at = later.at}));
  return out;
}

bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> buffers_of(const Cert& leaf, const std::vector<const Cert*>& sent) {
  bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> out(sk_CRYPTO_BUFFER_new_null());
  std::vector<const Cert*> all{&leaf};
  all.insert(all.end(), sent.begin(), sent.end());
  for (const Cert* c : all)
    if (!bssl::PushToStack(out.get(), der_buffer_of(c->x509.get()))) throw std::runtime_error("buffer");
  return out;
}

struct Judged {
  Reason reason = Reason::ok;
  std::string detail;
  int depth = -1;
  std::vector<std::string> path;
  bool from_memo = false;
  bool operator==(const Judged& o) const {
    return reason == o.reason && detail == o.detail && depth == o.depth && path == o.path;
  }
};

// The full verification alone: every certificate parsed afresh.
Judged in_full(const ChainVerifier& v, const STACK_OF(CRYPTO_BUFFER) * buffers) {
  CertChain parsed;
  for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(buffers); ++i)
    parsed.emplace_back(X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(buffers, i)));
  bssl::UniquePtr<X509> leaf = std::move(parsed.front());
  parsed.erase(parsed.begin());
  VerifiedChain facts;
  VerifyOutcome out = v.verify(leaf.get(), parsed, &facts);
  Judged j{out.reason, out.detail, out.depth, {}};
  if (out.reason == Reason::ok) j.path = *facts.path_der;
  return j;
}

// As a handshake judges: the memory may admit; anything else is the full verification's.
Judged as_handshake(const ChainVerifier& v, const STACK_OF(CRYPTO_BUFFER) * buffers) {
  VerifiedChain facts;
  if (v.verify_remembered(buffers, facts)) return {Reason::ok, "", -1, *facts.path_der, true};
  return in_full(v, buffers);
}

TEST(SignatureMemo, RandomSequencesMeetTheVerdictsOfTheFullVerification) {
  SignatureMemo::set_thread_capacity(256);
  Pki p;
  const auto variants = sent_variants(p);
  const auto all = verifiers(p);
  std::mt19937 random(20261206);
  int admitted = 0, from_memo = 0;
  std::set<Reason> refusals;
  for (int step = 0; step < 600; ++step) {
    const std::size_t v = random() % all.size(), l = random() % p.leaves.size(), s = random() % variants.size();
    auto buffers = buffers_of(p.leaves[l], variants[s]);
    const Judged with = as_handshake(*all[v], buffers.get());
    const Judged without = in_full(*all[v], buffers.get());
    ASSERT_EQ(with, without) << "step " << step << ": verifier " << v << ", leaf " << l << ", chain " << s << ": "
                             << reason_keyword(with.reason) << " / " << reason_keyword(without.reason) << " "
                             << without.detail;
    admitted += with.reason == Reason::ok;
    from_memo += with.from_memo;
    if (with.reason != Reason::ok) refusals.insert(with.reason);
  }
  EXPECT_GT(admitted, 50);
  EXPECT_GT(from_memo, 50);  // the memory answered, with intermediates it remembered
  // Expired, not yet valid, revoked, forged, untrusted and look-alike chains were all refused.
  for (Reason r : {Reason::expired, Reason::not_yet_valid, Reason::revoked, Reason::bad_signature,
                   Reason::untrusted_issuer, Reason::crl_unavailable})
    EXPECT_TRUE(refusals.count(r)) << reason_keyword(r);
}

TEST(SignatureMemo, AnIntermediateIsKnownByItsExactBytesOnly) {
  SignatureMemo::set_thread_capacity(256);
  Pki p;
  auto verifier = std::move(verifiers(p)[0]);
  VerifiedChain facts;
  auto buffers = buffers_of(p.leaves[0], {&p.inter});
  ASSERT_TRUE(verifier->verify_remembered(buffers.get(), facts));
  EXPECT_EQ(SignatureMemo::size(), (std::pair<std::size_t, std::size_t>{1, 1}));  // inter, and its signature
  const CRYPTO_BUFFER* inter_der = sk_CRYPTO_BUFFER_value(buffers.get(), 1);
  auto first = SignatureMemo::parse(inter_der);
  EXPECT_EQ(first.get(), SignatureMemo::parse(inter_der).get());  // the same object again
  // Same name, key and issuer, other dates: other bytes, another object.
  auto expired = der_buffer_of(p.expired.x509.get());
  EXPECT_NE(SignatureMemo::parse(expired.get()).get(), first.get());
  // One byte changed (in the signature): never the remembered one.
  std::string bytes(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(inter_der)), CRYPTO_BUFFER_len(inter_der));
  bytes.back() ^= 1;
  bssl::UniquePtr<CRYPTO_BUFFER> changed(
      CRYPTO_BUFFER_new(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr));
  auto other = SignatureMemo::parse(changed.get());
  EXPECT_TRUE(other == nullptr || other.get() != first.get());
}

TEST(SignatureMemo, ASignatureIsKnownForItsIssuerOnlyAndFailuresAreNotKept) {
  SignatureMemo::set_thread_capacity(256);
  Pki p;
  auto all = verifiers(p);
  VerifiedChain facts;
  auto good = buffers_of(p.leaves[0], {&p.inter});
  ASSERT_TRUE(all[0]->verify_remembered(good.get(), facts));
  // A reload to a root with the same name and key identifiers but another key: the remembered
  // intermediate's signature is checked again under it, fails, and the full verification refuses.
  EXPECT_FALSE(all[2]->verify_remembered(good.get(), facts));
  EXPECT_EQ(in_full(*all[2], good.get()).reason, Reason::bad_signature);
  // A forged leaf under the remembered intermediate: refused, and nothing new remembered.
  const auto before = SignatureMemo::size();
  auto forged = buffers_of(p.leaves[9], {&p.other});
  EXPECT_FALSE(all[0]->verify_remembered(forged.get(), facts));
  EXPECT_EQ(SignatureMemo::size(), before);  // "other" was sent, but its chain failed
}

TEST(SignatureMemo, OnlyTheVerifiedPathIsRemembered) {
  SignatureMemo::set_thread_capacity(256);
  Pki p;
  auto verifier = std::move(verifiers(p)[0]);
  VerifiedChain facts;
  // A good chain with certificates appended that its path does not use.
  auto padded = buffers_of(p.leaves[0], {&p.inter, &p.other, &p.foreign, &p.expired});
  ASSERT_TRUE(verifier->verify_remembered(padded.get(), facts));
  EXPECT_EQ(SignatureMemo::size(), (std::pair<std::size_t, std::size_t>{1, 1}));  // inter only
}

TEST(SignatureMemo, CrlSignaturesAreCheckedOncePerCrlAndIssuer) {
  SignatureMemo::set_thread_capacity(256);
  Pki p;
  auto all = verifiers(p);
  VerifiedChain facts;
  auto first = buffers_of(p.leaves[0], {&p.inter});
  ASSERT_TRUE(all[1]->verify_remembered(first.get(), facts));
  // The intermediate's signature, the intermediate's CRL (for the client) and the root's (for
  // the intermediate and the root itself: one pair).
  EXPECT_EQ(SignatureMemo::size(), (std::pair<std::size_t, std::size_t>{1, 3}));
  auto second = buffers_of(p.leaves[1], {&p.inter});
  ASSERT_TRUE(all[1]->verify_remembered(second.get(), facts));
  EXPECT_EQ(SignatureMemo::size(), (std::pair<std::size_t, std::size_t>{1, 3}));  // nothing new to check
  // The revoked client is not admitted by the memory; the full verification says why.
  auto revoked = buffers_of(p.leaves[8], {&p.inter});
  EXPECT_FALSE(all[1]->verify_remembered(revoked.get(), facts));
  EXPECT_EQ(in_full(*all[1], revoked.get()).reason, Reason::revoked);
  // A stale CRL is left to the full verification, whichever crl_stale says.
  EXPECT_FALSE(all[5]->verify_remembered(second.get(), facts));
  EXPECT_EQ(in_full(*all[5], second.get()).reason, Reason::ok);
  EXPECT_EQ(in_full(*all[6], second.get()).reason, Reason::crl_unavailable);
}

TEST(SignatureMemo, VerifiedCacheZeroTurnsItOff) {
  Pki p;
  auto verifier = std::move(verifiers(p)[0]);
  VerifiedChain facts;
  auto buffers = buffers_of(p.leaves[0], {&p.inter});
  VerifiedCache::set_thread_capacity(0);  // [server] verified_cache = 0
  EXPECT_FALSE(SignatureMemo::enabled());
  EXPECT_FALSE(verifier->verify_remembered(buffers.get(), facts));
  EXPECT_EQ(SignatureMemo::size(), (std::pair<std::size_t, std::size_t>{0, 0}));
  VerifiedCache::set_thread_capacity(16384);
  EXPECT_TRUE(SignatureMemo::enabled());
  EXPECT_TRUE(verifier->verify_remembered(buffers.get(), facts));
}

}  // namespace
}  // namespace gatehouse::tls
