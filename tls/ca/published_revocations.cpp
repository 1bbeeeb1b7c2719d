#include "tls/ca/published_revocations.hpp"

#include <fstream>
#include <sstream>

#include "tls/bssl.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls::ca {
namespace fs = std::filesystem;
using RE = Result<std::vector<IndexEntry>>;

namespace {

std::string reason_of(X509_REVOKED* revoked) {
  bssl::UniquePtr<ASN1_ENUMERATED> code(
      static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(revoked, NID_crl_reason, nullptr, nullptr)));
  return reason_name(code ? static_cast<int>(ASN1_ENUMERATED_get(code.get())) : 0);
}

}  // namespace

RE published_revocations(const fs::path& crl_pem) {
  std::error_code ec;
  if (!fs::exists(crl_pem, ec)) return std::vector<IndexEntry>{};
  std::ifstream in(crl_pem, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<IndexEntry> out;
  int crls = 0;
  while (bssl::UniquePtr<X509_CRL> crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)}) {
    ++crls;
    const std::string issuer = name_text(X509_CRL_get_issuer(crl.get()));
    STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl.get());
    for (size_t i = 0; list && i < sk_X509_REVOKED_num(list); ++i) {
      X509_REVOKED* r = sk_X509_REVOKED_value(list, i);
      const ASN1_INTEGER* serial = X509_REVOKED_get0_serialNumber(r);
      IndexEntry e;
      e.serial = hex(ASN1_STRING_get0_data(serial), static_cast<size_t>(ASN1_STRING_length(serial)), true, true);
      e.issuer = issuer;
      e.revoked = true;
      e.revoked_at = unix_time(X509_REVOKED_get0_revocationDate(r));
      e.reason = reason_of(r);
      out.push_back(std::move(e));
    }
  }
  drain_errors();
  if (crls == 0 && pem.find_first_not_of(" \r\n\t") != std::string::npos)
    return RE::failure(crl_pem.string() +
                       " holds no readable CRL, so its revocations cannot be carried into "
                       "the next one. Move it aside if it is not yours");
  return out;
}

std::optional<PreviousCrl> previous_crl(const fs::path& crl_pem, const std::string& issuer) {
  std::ifstream in(crl_pem, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::optional<PreviousCrl> found;
  while (bssl::UniquePtr<X509_CRL> crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)}) {
    if (name_text(X509_CRL_get_issuer(crl.get())) != issuer) continue;
    found = PreviousCrl{to_pem(crl.get()), unix_time(X509_CRL_get0_nextUpdate(crl.get()))};
  }
  drain_errors();
  return found;
}

std::vector<IndexEntry> forgotten_revocations(const CaIndex& index, const std::vector<IndexEntry>& published) {
  std::vector<IndexEntry> out;
  for (const auto& p : published) {
    bool known = false;
    for (const auto& e : index.entries()) known |= e.serial == p.serial && e.revoked;
    if (!known) out.push_back(p);
  }
  return out;
}

}  // namespace gatehouse::tls::ca
