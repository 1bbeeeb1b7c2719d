// `gatehouse ca sign`: a CSR from a stranger, PEM or DER. The input is read as the CSR file;
// one that parses is signed twice: as it is (its own signature almost never verifies, so this
// checks the refusal) and re-signed with a key of ours, so that its subject and requested
// names, whatever they hold, reach the issuing code and the CA folder's index.
#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstdlib>

#include "tests/fuzz/fuzz_support.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/ca/csr.hpp"
#include "tls/pki/cert_builder.hpp"

namespace tls = gatehouse::tls;

namespace {

// A fresh CA folder now and then, so the index stays small and each input costs the same.
struct Ca {
  std::filesystem::path base = gatehouse::fuzz::scratch_dir("gatehouse-fuzz-ca");
  std::optional<tls::ca::CaFolder> folder;
  int uses = 0;
  bssl::UniquePtr<EVP_PKEY> requester = tls::pki::generate_key(tls::pki::KeyType::ecdsa_p256);

  tls::ca::CaFolder& get() {
    if (!folder || ++uses % 256 == 0) {
      std::filesystem::remove_all(base / "ca");
      auto made = tls::ca::CaFolder::init(base / "ca", "Fuzz CA", "Fuzz", tls::pki::KeyType::ecdsa_p256, 30, 0, "", true);
      if (!made) std::abort();
      folder.emplace(std::move(*made));
    }
    return *folder;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Ca ca;
  static gatehouse::fuzz::MemoryFile file;
  file.hold(data, size);
  auto csr = tls::ca::read_csr(file.path());
  ERR_clear_error();
  if (!csr) {
    if (csr.error().empty()) std::abort();
    return 0;
  }
  tls::ca::LeafRequest request{.name = "fuzz", .force = true};
  auto as_sent = ca.get().sign(csr->get(), request);
  ERR_clear_error();
  if (!as_sent && as_sent.error().empty()) std::abort();
  if (X509_REQ_set_pubkey(csr->get(), ca.requester.get()) == 1 &&
      X509_REQ_sign(csr->get(), ca.requester.get(), EVP_sha256()) > 0) {
    auto resigned = ca.get().sign(csr->get(), request);
    if (!resigned && resigned.error().empty()) std::abort();
  }
  ERR_clear_error();
  return 0;
}
