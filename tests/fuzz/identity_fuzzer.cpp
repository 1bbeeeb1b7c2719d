// Arbitrary DER certificates and chains, as a client may send them: the input is split into
// DER elements; each one that parses goes through identity extraction (what the access log,
// the policy and the identity headers read) and the first is verified, with the others as the
// chain it sent, against a private root made at start-up; CRL distribution points are read as
// `gatehouse inspect` reads them. Whatever the bytes, the outcome is a reason and words, never a
// crash, and nothing but a real chain of our root verifies.
#include <openssl/bytestring.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <ctime>

#include "tls/chain_verifier.hpp"
#include "tls/crl_publication.hpp"
#include "tls/identity.hpp"
#include "tls/pki/cert_builder.hpp"

namespace tls = gatehouse::tls;

namespace {

struct Trust {
  bssl::UniquePtr<EVP_PKEY> key = tls::pki::generate_key(tls::pki::KeyType::ecdsa_p256);
  tls::CertChain anchors;
  std::unique_ptr<tls::ChainVerifier> verifier;
  Trust() {
    tls::pki::CertSpec spec{.cn = "Fuzz Root", .o = {"Fuzz"}, .is_ca = true};
    auto root = tls::pki::issue_certificate(spec, key.get(), nullptr, key.get());
    if (!root) std::abort();
    anchors.push_back(std::move(*root));
    verifier = std::make_unique<tls::ChainVerifier>(anchors, tls::CertChain{}, tls::CrlList{}, tls::VerifyOptions{});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Trust trust;
  tls::CertChain chain;
  CBS input;
  CBS_init(&input, data, size);
  while (CBS_len(&input) > 0 && chain.size() < 12) {
    CBS element;
    if (!CBS_get_asn1_element(&input, &element, CBS_ASN1_SEQUENCE)) break;
    const std::uint8_t* p = CBS_data(&element);
    bssl::UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(CBS_len(&element))));
    if (!cert) continue;
    auto identity = tls::extract_identity(cert.get());
    if (identity.fingerprint.size() != 64) std::abort();
    for (const auto& url : tls::crl_distribution_urls(cert.get()))  // what `gatehouse inspect` prints
      if (url.size() > CBS_len(&element)) std::abort();
    chain.push_back(std::move(cert));
  }
  ERR_clear_error();
  if (chain.empty()) return 0;
  X509* leaf = chain.front().get();
  tls::CertChain sent;
  for (size_t i = 1; i < chain.size(); ++i) sent.push_back(bssl::UpRef(chain[i]));
  tls::VerifiedChain facts;
  auto outcome = trust.verifier->verify(leaf, sent, &facts);
  if (outcome.reason == gatehouse::Reason::ok) {
    // Only our root's signature can make a chain verify; the fuzzer has no key of it.
    bool ours = false;
    for (const auto& c : chain) ours |= X509_verify(c.get(), trust.key.get()) == 1;
    if (!ours) std::abort();
    (void)trust.verifier->still_valid(facts, std::time(nullptr));
  } else if (outcome.detail.empty()) {
    std::abort();  // every refusal is explained
  }
  ERR_clear_error();
  return 0;
}
