// `ca renew`: the week's chore of replacing a certificate before it expires. The new one has a
// new key and the old one's names, profile and key type; the old one is revoked as superseded,
// at once or after an overlap (recorded now, listed by `ca crl` from its date).
#include <ctime>

#include "tls/ca/ca_folder.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls::ca {
namespace {

pki::KeyType same_key_type(EVP_PKEY* key) {
  if (EVP_PKEY_id(key) == EVP_PKEY_RSA)
    return EVP_PKEY_bits(key) > 2048 ? pki::KeyType::rsa4096 : pki::KeyType::rsa2048;
  if (EVP_PKEY_bits(key) > 256) return pki::KeyType::ecdsa_p384;
  return pki::KeyType::ecdsa_p256;
}

std::vector<std::string> sans_of(const PeerIdentity& id) {
  std::vector<std::string> out;
  for (const auto& [prefix, list] : {std::pair{"dns:", &id.dns}, std::pair{"ip:", &id.ip},
                                     std::pair{"email:", &id.email}, std::pair{"uri:", &id.uri}})
    for (const auto& value : *list) out.push_back(prefix + value);
  return out;
}

}  // namespace

Result<IssuedFiles> CaFolder::renew(const std::string& name, int days, std::optional<std::int64_t> not_before,
                                    std::optional<std::int64_t> not_after, std::int64_t overlap_seconds) {
  using RF = Result<IssuedFiles>;
  auto certs = read_certificates(issued_path(name, ".pem"));
  if (!certs) return RF::failure(certs.error() + " (is the name right? see `gatehouse ca list`)");
  X509* old = certs->front().get();
  const IndexEntry* entry = index_.find_serial(serial_text(old));
  if (!entry) return RF::failure(issued_path(name, ".pem").string() + " was not issued by this CA");
  std::error_code ec;
  if (!std::filesystem::exists(issued_path(name, ".key"), ec))
    return RF::failure("'" + name +
                       "' was signed from a CSR: its key is with the requester. Ask for a new CSR and sign it "
                       "with `gatehouse ca sign DIR REQUEST --name " +
                       name +
                       " --force` (the old one is "
                       "then revoked as superseded)");
  bssl::UniquePtr<EVP_PKEY> old_key(X509_get_pubkey(old));
  if (!old_key) return RF::failure("cannot read the public key of " + issued_path(name, ".pem").string());
  PeerIdentity id = extract_identity(old);
  LeafRequest request{.profile = entry->profile == "server" ? pki::Purpose::server : pki::Purpose::client,
                      .name = name,
                      .cn = id.cn,
                      .o = id.o,
                      .ou = id.ou,
                      .sans = sans_of(id),
                      .days = days,
                      .not_before = not_before,
                      .not_after = not_after,
                      .key = same_key_type(old_key.get()),
                      .force = true,
                      .supersede_delay = overlap_seconds};
  // By default the same lifetime as the old one (its not-before is an hour back, for skew).
  if (days <= 0 && !not_after) request.days = static_cast<int>((entry->not_after - entry->not_before) / 86400);
  if (request.days <= 0) request.days = 90;
  auto files = issue(request);
  if (!files) return files;
  // An export of the old certificate must not be sent by mistake: the next `ca export` makes it anew.
  std::filesystem::remove(issued_path(name, ".p12"), ec);
  return files;
}

}  // namespace gatehouse::tls::ca
