// A private CA in one folder: root, optional intermediate, issued certificates, index and CRL.
// Every write is atomic, private keys are 0600, and nothing is overwritten without `force`.
// Every command holds DIR/ca.lock for as long as its CaFolder lives (tls/ca/ca_lock.hpp), and
// every folder is made 0700.
//
//   DIR/ca.lock                 the lock (empty)
//   DIR/ca.json                 marks the folder as a Gatehouse CA
//   DIR/root.pem                the root certificate: give it to the proxy as client_ca
//   DIR/intermediate.pem        the issuing intermediate (if made): client_intermediates
//   DIR/private/*.key           the CA keys (0600; take root.key offline once the intermediate exists)
//   DIR/issued/NAME.{pem,key}   each leaf and its key; NAME-chain.pem = leaf + intermediate
//   DIR/index.json              every issued certificate, its serial and status
//   DIR/crlnumber               the last CRL number used; it only grows (tls/ca/crl_number.hpp)
//   DIR/crl.pem                 the signed CRL(s), written by `ca crl`
//   DIR/crl/HASH.crl            the same CRLs in DER, one per CA, for a web server to publish
//                               at the CRL URL (ca.json's crl_url) the certificates name
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tls/bssl.hpp"
#include "tls/ca/ca_index.hpp"
#include "tls/ca/ca_lock.hpp"
#include "tls/pki/cert_builder.hpp"

namespace gatehouse::tls::ca {

struct LeafRequest {
  pki::Purpose profile = pki::Purpose::client;  // client or server
  std::string name;                             // file stem; defaults to the CN
  std::string cn;
  std::vector<std::string> o;
  std::vector<std::string> ou;
  std::vector<std::string> sans;  // "dns:x", "ip:y", "email:z", "uri:spiffe://..."
  int days = 90;
  // Absolute validity (Unix seconds, UTC) instead of `days`, for an expired or not-yet-valid
  // certificate made on purpose. Both or neither; not_after must come after not_before.
  std::optional<std::int64_t> not_before, not_after;
  pki::KeyType key = pki::KeyType::ecdsa_p256;
  // Replace files of the same name. The certificate they held is revoked as superseded, after
  // `supersede_delay` seconds (`ca renew --overlap`) or at once: a replaced certificate never
  // stays valid by oversight.
  bool force = false;
  std::int64_t supersede_delay = 0;
  // `sign` only: copy the CN, O, OU and SANs the CSR asks for where no flag gives them. Without
  // it the certificate carries only what the CA operator typed.
  bool use_csr_names = false;
};

// What `ca crl` repaired on its way, for the operator to hear about.
struct CrlWarnings {
  std::vector<std::string> carried_over;  // serials revoked in the last crl.pem, not in index.json
  std::string counter_behind;             // set when DIR/crlnumber was below a CRL on disk
  // The root key is offline: the root's last CRL was copied unchanged into the new crl.pem.
  bool root_not_renewed = false;
  std::int64_t root_crl_next_update = 0;  // when that copied CRL expires; 0: there was none
  // Superseded certificates whose revocation takes effect later (`ca renew --overlap`): not
  // listed yet; the first `ca crl` after their date lists them.
  std::vector<IndexEntry> scheduled;
};

struct IssuedFiles {
  std::filesystem::path cert, key, chain;  // key is empty when signing a CSR
  std::string serial;
  std::optional<IndexEntry> superseded;  // the certificate these files held before (--force, renew)
};

class CaFolder {
 public:
  // `organization` (O=) is shared by the root and its intermediate; it defaults to `name`.
  // `crl_url`: where the CRLs will be published (see tls/crl_publication.hpp); may be empty.
  static Result<CaFolder> init(const std::filesystem::path& dir, const std::string& name,
                               const std::string& organization, pki::KeyType key, int days, int path_len,
                               const std::string& crl_base_url, bool force);
  // Holds DIR/ca.lock until destroyed: shared for reading, exclusive for changing anything.
  static Result<CaFolder> open(const std::filesystem::path& dir, Access access);

  Result<bool> add_intermediate(const std::string& name, int days, int path_len, bool force);
  Result<IssuedFiles> issue(const LeafRequest& request);
  // Signs a CSR after checking its signature. The names come from `request`; the CSR's own
  // (tls/ca/csr_names.hpp) only with `use_csr_names`, and only if tls/ca/name_rules.hpp accepts them.
  Result<IssuedFiles> sign(X509_REQ* csr, const LeafRequest& request);
  // A new key and certificate for NAME with the names, profile, key type and (unless `days` or
  // an absolute validity is given) lifetime of its current one, which is revoked as
  // superseded after `overlap_seconds` (0: at once).
  Result<IssuedFiles> renew(const std::string& name, int days, std::optional<std::int64_t> not_before,
                            std::optional<std::int64_t> not_after, std::int64_t overlap_seconds);
  // `what`: NAME as `ca issue` printed it (its current certificate), the path of a certificate
  // file, or a serial in any usual spelling. A revocation scheduled for later takes effect now.
  Result<IndexEntry> revoke(const std::string& what, const std::string& reason);
  // Also lists, again, revocations of the last crl.pem that the index no longer shows: a
  // published revocation is never withdrawn by accident. `warnings` says what was repaired.
  // `root_days` (0: `days`) is the root's CRL's validity: it changes only when an intermediate
  // is revoked, and with the root key offline nobody renews it (`gatehouse init` gives it a year).
  Result<std::filesystem::path> write_crl(int days, CrlWarnings* warnings = nullptr, int root_days = 0);
  // Sets (empty: removes) the CRL URL in ca.json; certificates issued from now on name it.
  Result<bool> set_crl_base_url(const std::string& url);

  const std::vector<IndexEntry>& entries() const { return index_.entries(); }
  const std::filesystem::path& dir() const { return dir_; }
  const std::string& crl_base_url() const { return crl_url_; }
  X509* root() const { return root_.get(); }
  X509* issuer() const { return intermediate_ ? intermediate_.get() : root_.get(); }
  EVP_PKEY* issuer_key() const { return intermediate_ ? intermediate_key_.get() : root_key_.get(); }
  std::filesystem::path issued_path(const std::string& name, const char* suffix) const;

 private:
  Result<IssuedFiles> finish_leaf(const LeafRequest& request, EVP_PKEY* public_key, EVP_PKEY* private_key);
  Result<bssl::UniquePtr<X509>> issue_in_window(pki::CertSpec spec, const LeafRequest& request,
                                                EVP_PKEY* public_key) const;
  // The index entry of the certificate in `cert_file` (nullptr: no file, or not in the index).
  IndexEntry* current_entry(const std::filesystem::path& cert_file);
  Result<bool> check_free(const std::vector<std::filesystem::path>& files, bool force) const;
  Result<bool> check_writable() const;
  // The serial `what` names (see revoke), or why it names none.
  Result<std::string> resolve_serial(const std::string& what) const;

  CaLock lock_;  // first: taken before anything is read
  std::filesystem::path dir_;
  std::string crl_url_;
  bssl::UniquePtr<X509> root_;
  bssl::UniquePtr<EVP_PKEY> root_key_;
  bssl::UniquePtr<X509> intermediate_;
  bssl::UniquePtr<EVP_PKEY> intermediate_key_;
  CaIndex index_;
};

// A CRL signed by `ca` listing the revoked `entries` it issued.
Result<bssl::UniquePtr<X509_CRL>> signed_crl(X509* ca, EVP_PKEY* key, const std::vector<IndexEntry>& entries,
                                             std::int64_t number, std::int64_t this_update, std::int64_t next_update);
// The same, as PEM.
Result<std::string> signed_crl_pem(X509* ca, EVP_PKEY* key, const std::vector<IndexEntry>& entries, std::int64_t number,
                                   std::int64_t this_update, std::int64_t next_update);

// RFC 5280 reason names accepted by `ca revoke --reason`.
const std::vector<std::string>& revocation_reasons();
// The RFC 5280 CRLReason code of a name, and back ("unspecified" for a code we do not name).
int reason_code(const std::string& reason);
std::string reason_name(int code);

}  // namespace gatehouse::tls::ca
