// CRL loading (`crl = "..."` in a listener, what `ca crl` writes): arbitrary bytes as a CRL
// file, PEM or DER. A file that loads is used the way a listener uses it: our root's client
// chain is verified against it. The result is `ok` or an explained refusal, never a crash.
#include <openssl/err.h>

#include <cstdlib>

#include "tests/fuzz/fuzz_support.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/pem_io.hpp"
#include "tls/pki/cert_builder.hpp"

namespace tls = gatehouse::tls;

namespace {

struct Pki {
  bssl::UniquePtr<EVP_PKEY> root_key = tls::pki::generate_key(tls::pki::KeyType::ecdsa_p256);
  bssl::UniquePtr<EVP_PKEY> leaf_key = tls::pki::generate_key(tls::pki::KeyType::ecdsa_p256);
  tls::CertChain anchors;
  bssl::UniquePtr<X509> leaf;
  Pki() {
    auto root = tls::pki::issue_certificate({.cn = "Fuzz Root", .o = {"Fuzz"}, .is_ca = true}, root_key.get(), nullptr,
                                            root_key.get());
    if (!root) std::abort();
    auto client = tls::pki::issue_certificate({.cn = "alice", .purpose = tls::pki::Purpose::client}, leaf_key.get(),
                                              root->get(), root_key.get());
    if (!client) std::abort();
    leaf = std::move(*client);
    anchors.push_back(std::move(*root));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Pki pki;
  static gatehouse::fuzz::MemoryFile file;
  file.hold(data, size);
  auto crls = tls::read_crls(file.path());
  ERR_clear_error();
  if (!crls) {
    if (crls.error().empty()) std::abort();  // a refused file says why
    return 0;
  }
  for (bool stale_ok : {false, true}) {
    tls::CrlList copy;
    for (const auto& crl : *crls) copy.push_back(bssl::UpRef(crl));
    tls::ChainVerifier verifier(pki.anchors, {}, copy, {.accept_stale_crl = stale_ok});
    auto outcome = verifier.verify(pki.leaf.get(), {});
    if (outcome.reason != gatehouse::Reason::ok && outcome.detail.empty()) std::abort();
  }
  ERR_clear_error();
  return 0;
}
