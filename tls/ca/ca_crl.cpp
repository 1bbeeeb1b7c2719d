// `ca crl`: one CRL per CA of the folder (the intermediate's lists revoked leaves, the root's
// lists a revoked intermediate), together in crl.pem, which the proxy loads as `crl`.
#include <openssl/bn.h>

#include <ctime>

#include "tls/ca/ca_folder.hpp"
#include "tls/ca/crl_number.hpp"
#include "tls/ca/published_revocations.hpp"
#include "tls/crl_publication.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls::ca {
namespace {

constexpr int kReasonCodes[] = {0, 1, 2, 3, 4, 5, 6, 9, 10};  // RFC 5280 CRLReason values, same order as the names

bssl::UniquePtr<ASN1_INTEGER> serial_integer(const std::string& serial) {
  std::string digits;
  for (char c : serial)
    if (c != ':') digits += c;
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, digits.c_str());
  bssl::UniquePtr<BIGNUM> owned(bn);
  return bssl::UniquePtr<ASN1_INTEGER>(BN_to_ASN1_INTEGER(owned.get(), nullptr));
}

}  // namespace

int reason_code(const std::string& reason) {
  const auto& names = revocation_reasons();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == reason) return kReasonCodes[i];
  return 0;
}

std::string reason_name(int code) {
  const auto& names = revocation_reasons();
  for (size_t i = 0; i < names.size(); ++i)
    if (kReasonCodes[i] == code) return names[i];
  return "unspecified";
}

Result<bssl::UniquePtr<X509_CRL>> signed_crl(X509* ca, EVP_PKEY* key, const std::vector<IndexEntry>& entries,
                                             std::int64_t number, std::int64_t this_update, std::int64_t next_update) {
  using RC = Result<bssl::UniquePtr<X509_CRL>>;
  bssl::UniquePtr<X509_CRL> crl(X509_CRL_new());
  const std::string issuer = subject_line(ca);
  bssl::UniquePtr<ASN1_TIME> now(ASN1_TIME_set(nullptr, static_cast<std::time_t>(this_update)));
  bssl::UniquePtr<ASN1_TIME> next(ASN1_TIME_set(nullptr, static_cast<std::time_t>(next_update)));
  bool ok = X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)) &&
            X509_CRL_set1_lastUpdate(crl.get(), now.get()) && X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (const auto& e : entries) {
    if (!e.revoked || e.issuer != issuer) continue;
    bssl::UniquePtr<X509_REVOKED> rev(X509_REVOKED_new());
    bssl::UniquePtr<ASN1_TIME> when(ASN1_TIME_set(nullptr, static_cast<std::time_t>(e.revoked_at)));
    bssl::UniquePtr<ASN1_ENUMERATED> code(ASN1_ENUMERATED_new());
    ASN1_ENUMERATED_set(code.get(), reason_code(e.reason));
    ok = ok && X509_REVOKED_set_serialNumber(rev.get(), serial_integer(e.serial).get()) &&
         X509_REVOKED_set_revocationDate(rev.get(), when.get()) &&
         X509_REVOKED_add1_ext_i2d(rev.get(), NID_crl_reason, code.get(), 0, 0) &&
         X509_CRL_add0_revoked(crl.get(), rev.release());
  }
  bssl::UniquePtr<ASN1_INTEGER> crl_number(ASN1_INTEGER_new());
  ASN1_INTEGER_set(crl_number.get(), static_cast<long>(number));
  ok = ok && X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crl_number.get(), 0, 0);
  if (const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(ca)) {
    bssl::UniquePtr<AUTHORITY_KEYID> akid(AUTHORITY_KEYID_new());
    akid->keyid = ASN1_OCTET_STRING_dup(skid);
    ok = ok && X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, akid.get(), 0, 0);
  }
  X509_CRL_sort(crl.get());
  if (!ok || !X509_CRL_sign(crl.get(), key, EVP_sha256()))
    return RC::failure("cannot build the CRL: " + drain_errors());
  return crl;
}

Result<std::string> signed_crl_pem(X509* ca, EVP_PKEY* key, const std::vector<IndexEntry>& entries, std::int64_t number,
                                   std::int64_t this_update, std::int64_t next_update) {
  auto crl = signed_crl(ca, key, entries, number, this_update, next_update);
  if (!crl) return Result<std::string>::failure(crl.error());
  return to_pem(crl->get());
}

Result<std::filesystem::path> CaFolder::write_crl(int days, CrlWarnings* warnings, int root_days) {
  using RP = Result<std::filesystem::path>;
  if (auto writable = check_writable(); !writable) return RP::failure(writable.error());
  if (days <= 0) return RP::failure("--days must be positive");
  auto counter = CrlCounter::load(dir_, index_.legacy_crl_number());
  if (!counter) return RP::failure(counter.error());
  if (warnings) warnings->counter_behind = counter->behind_disk();
  if (!intermediate_ && !root_key_) return RP::failure("the root key is not here; it must sign the CRL");
  auto published = published_revocations(dir_ / "crl.pem");
  if (!published) return RP::failure(published.error());
  std::vector<IndexEntry> entries = index_.entries();
  for (auto& forgotten : forgotten_revocations(index_, *published)) {
    if (warnings) warnings->carried_over.push_back(forgotten.serial);
    entries.push_back(std::move(forgotten));
  }
  const std::int64_t now = std::time(nullptr);
  // A revocation scheduled for later (`ca renew --overlap`) is listed from its date on.
  std::erase_if(entries, [&](const IndexEntry& e) {
    bool scheduled = e.revoked && e.revoked_at > now;
    if (scheduled && warnings) warnings->scheduled.push_back(e);
    return scheduled;
  });
  std::string pem;
  std::vector<std::pair<std::filesystem::path, std::string>> der_files;
  // The intermediate's CRL (revoked leaves) first, then the root's (a revoked intermediate);
  // without the root key here, only the intermediate's.
  for (auto [ca, key] :
       {std::pair{intermediate_.get(), intermediate_key_.get()}, std::pair{root_.get(), root_key_.get()}}) {
    if (!ca || !key) continue;
    const int valid_days = ca == root_.get() && root_days > 0 ? root_days : days;
    auto crl = signed_crl(ca, key, entries, counter->next(), now, now + std::int64_t{valid_days} * 86400);
    if (!crl) return RP::failure(crl.error());
    pem += to_pem(crl->get());
    der_files.emplace_back(dir_ / "crl" / crl_file_name(X509_get_subject_name(ca)), crl_der(crl->get()));
  }
  // Without the root key the root's CRL (a revoked intermediate) cannot be renewed; its last one
  // is copied as it was rather than dropped, which would silently un-revoke an intermediate.
  if (intermediate_ && !root_key_) {
    auto root_crl = previous_crl(dir_ / "crl.pem", subject_line(root_.get()));
    if (root_crl) pem += root_crl->pem;
    if (warnings) {
      warnings->root_not_renewed = true;
      warnings->root_crl_next_update = root_crl ? root_crl->next_update : 0;
    }
  }
  // The numbers are recorded before any CRL that uses them is written.
  if (auto saved = counter->save(); !saved) return RP::failure(saved.error());
  if (auto made = make_private_folder(dir_ / "crl"); !made) return RP::failure(made.error());
  for (const auto& [file, der] : der_files)
    if (auto w = write_file_atomic(file, der, 0644); !w) return RP::failure(w.error());
  auto path = dir_ / "crl.pem";
  if (auto w = write_file_atomic(path, pem, 0644); !w) return RP::failure(w.error());
  return path;
}

}  // namespace gatehouse::tls::ca
