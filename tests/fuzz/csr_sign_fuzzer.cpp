// `gatehouse ca sign`: a CSR from a stranger, PEM or DER. The input is read as the CSR file;
// one that parses is signed twice: as it is (its own signature almost never verifies, so this
// checks the refusal) and re-signed with a key of ours, so that its subject and requested
// names, whatever they hold, reach the name rules (--use-csr-names), the issuing code and the
// CA folder's index.
#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "tests/fuzz/fuzz_support.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/ca/csr.hpp"
#include "tls/pem_io.hpp"
#include "tls/pki/cert_builder.hpp"

namespace tls = gatehouse::tls;

namespace {

// One CA folder for the run; each input starts from its empty index and opens the folder anew,
// so nothing grows from input to input (growth would make libFuzzer run LeakSanitizer after
// every input, which made this target a hundred times slower).
struct Ca {
  std::filesystem::path dir = gatehouse::fuzz::scratch_dir("gatehouse-fuzz-ca") / "ca";
  std::string empty_index;
  bssl::UniquePtr<EVP_PKEY> requester = tls::pki::generate_key(tls::pki::KeyType::ecdsa_p256);

  Ca() {
    if (!tls::ca::CaFolder::init(dir, "Fuzz CA", "Fuzz", tls::pki::KeyType::ecdsa_p256, 30, 0, "http://ca.test/crl",
                                 true))
      std::abort();
    std::ifstream in(dir / "index.json");
    empty_index.assign(std::istreambuf_iterator<char>(in), {});
  }
  tls::ca::CaFolder fresh() const {
    if (!tls::write_file_atomic(dir / "index.json", empty_index, 0644)) std::abort();
    auto opened = tls::ca::CaFolder::open(dir, tls::ca::Access::read_write);
    if (!opened) std::abort();
    return std::move(*opened);
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
  // --use-csr-names: the CSR's own subject and SANs go through the name rules, as in `ca sign`.
  tls::ca::LeafRequest request{.name = "fuzz", .force = true, .use_csr_names = true};
  auto folder = ca.fresh();
  auto as_sent = folder.sign(csr->get(), request);
  ERR_clear_error();
  if (!as_sent && as_sent.error().empty()) std::abort();
  if (X509_REQ_set_pubkey(csr->get(), ca.requester.get()) == 1 &&
      X509_REQ_sign(csr->get(), ca.requester.get(), EVP_sha256()) > 0) {
    auto resigned = folder.sign(csr->get(), request);
    if (!resigned && resigned.error().empty()) std::abort();
  }
  ERR_clear_error();
  return 0;
}
