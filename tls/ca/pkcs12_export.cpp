#include "tls/ca/pkcs12_export.hpp"

#include <openssl/hmac.h>
#include <openssl/pkcs8.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>

#include "tls/der.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls::ca {
namespace {

constexpr const char* kOidData = "1.2.840.113549.1.7.1";
constexpr const char* kOidCertBag = "1.2.840.113549.1.12.10.1.3";
constexpr const char* kOidShroudedKeyBag = "1.2.840.113549.1.12.10.1.2";
constexpr const char* kOidX509Cert = "1.2.840.113549.1.9.22.1";
constexpr const char* kOidFriendlyName = "1.2.840.113549.1.9.20";
constexpr const char* kOidLocalKeyId = "1.2.840.113549.1.9.21";
constexpr const char* kOidSha256 = "2.16.840.1.101.3.4.2.1";
constexpr int kKdfIterations = 10000;
constexpr int kMacIterations = 2048;

bool add_oid(CBB* cbb, const char* oid) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_OBJECT) && CBB_add_asn1_oid_from_text(&child, oid, strlen(oid)) &&
         CBB_flush(cbb);
}

// UTF-8 → UTF-16BE with a terminating NUL: the BMPString PKCS#12 uses for passwords and names.
std::string bmp_string(const std::string& utf8) {
  std::string out;
  auto put = [&](uint32_t u) {
    out += static_cast<char>(u >> 8);
    out += static_cast<char>(u & 0xff);
  };
  CBS in;
  CBS_init(&in, reinterpret_cast<const uint8_t*>(utf8.data()), utf8.size());
  while (CBS_len(&in) > 0) {
    uint8_t c = 0;
    CBS_get_u8(&in, &c);
    const int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    uint32_t cp = extra == 3 ? c & 0x07 : extra == 2 ? c & 0x0f : extra == 1 ? c & 0x1f : c;
    for (int i = 0; i < extra && CBS_get_u8(&in, &c); ++i) cp = (cp << 6) | (c & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xd800 | (cp >> 10));
      put(0xdc00 | (cp & 0x3ff));
    } else {
      put(cp);
    }
  }
  put(0);
  return out;
}

// RFC 7292 appendix B.2 with SHA-256, for one 32-byte output (the MAC key, ID 3).
std::string pkcs12_mac_key(const std::string& password, const std::string& salt, int iterations) {
  constexpr size_t v = 64;
  std::string d(v, '\3');
  auto fill = [](const std::string& s) {
    std::string out;
    if (s.empty()) return out;
    size_t len = v * ((s.size() + v - 1) / v);
    while (out.size() < len) out += s;
    out.resize(len);
    return out;
  };
  std::string input = d + fill(salt) + fill(bmp_string(password));
  uint8_t a[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(input.data()), input.size(), a);
  for (int i = 1; i < iterations; ++i) SHA256(a, sizeof a, a);
  return std::string(reinterpret_cast<char*>(a), sizeof a);
}

bool add_bag_attributes(CBB* bag, const std::string& friendly_name, const uint8_t* key_id, size_t key_id_len) {
  CBB attrs, attr, values, value;
  if (!CBB_add_asn1(bag, &attrs, CBS_ASN1_SET)) return false;
  if (!friendly_name.empty()) {
    std::string bmp = bmp_string(friendly_name);
    bmp.resize(bmp.size() - 2);  // the attribute carries no terminator
    if (!CBB_add_asn1(&attrs, &attr, CBS_ASN1_SEQUENCE) || !add_oid(&attr, kOidFriendlyName) ||
        !CBB_add_asn1(&attr, &values, CBS_ASN1_SET) || !CBB_add_asn1(&values, &value, CBS_ASN1_BMPSTRING) ||
        !CBB_add_bytes(&value, reinterpret_cast<const uint8_t*>(bmp.data()), bmp.size()) || !CBB_flush(&attrs))
      return false;
  }
  return CBB_add_asn1(&attrs, &attr, CBS_ASN1_SEQUENCE) && add_oid(&attr, kOidLocalKeyId) &&
         CBB_add_asn1(&attr, &values, CBS_ASN1_SET) && CBB_add_asn1_octet_string(&values, key_id, key_id_len) &&
         CBB_flush(bag);
}

// ContentInfo { data, [0] OCTET STRING { contents } }
bool add_data_content_info(CBB* out, const uint8_t* contents, size_t len) {
  CBB info, explicit0;
  return CBB_add_asn1(out, &info, CBS_ASN1_SEQUENCE) && add_oid(&info, kOidData) &&
         CBB_add_asn1(&info, &explicit0, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         CBB_add_asn1_octet_string(&explicit0, contents, len) && CBB_flush(out);
}

std::string finish(CBB* cbb) {
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!CBB_finish(cbb, &data, &len)) return {};
  std::string out(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  return out;
}

}  // namespace

Result<std::string> build_pkcs12(EVP_PKEY* key, const CertChain& chain, const std::string& password,
                                 const std::string& friendly_name) {
  using RS = Result<std::string>;
  uint8_t key_id[SHA_DIGEST_LENGTH];  // localKeyId ties the key to its certificate
  auto leaf_der = chain.empty() ? std::nullopt : der_bytes_of(chain.front().get());
  if (!leaf_der) return RS::failure("the certificate cannot be DER-encoded");
  SHA1(leaf_der->data.get(), leaf_der->size, key_id);

  bssl::ScopedCBB certs;  // SafeContents of cert bags
  CBB seq;
  bool ok = CBB_init(certs.get(), 1024) && CBB_add_asn1(certs.get(), &seq, CBS_ASN1_SEQUENCE);
  for (size_t i = 0; ok && i < chain.size(); ++i) {
    CBB bag, value, cert_bag, cert_value, octets;
    auto cert_der = der_bytes_of(chain[i].get());
    ok = cert_der && CBB_add_asn1(&seq, &bag, CBS_ASN1_SEQUENCE) && add_oid(&bag, kOidCertBag) &&
         CBB_add_asn1(&bag, &value, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         CBB_add_asn1(&value, &cert_bag, CBS_ASN1_SEQUENCE) && add_oid(&cert_bag, kOidX509Cert) &&
         CBB_add_asn1(&cert_bag, &cert_value, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
         CBB_add_asn1(&cert_value, &octets, CBS_ASN1_OCTETSTRING) &&
         CBB_add_bytes(&octets, cert_der->data.get(), cert_der->size) && CBB_flush(&bag) &&
         (i > 0 || add_bag_attributes(&bag, friendly_name, key_id, sizeof key_id)) && CBB_flush(&seq);
  }
  std::string cert_contents = ok ? finish(certs.get()) : "";

  uint8_t salt[16];
  RAND_bytes(salt, sizeof salt);
  bssl::ScopedCBB keys;  // SafeContents with one shrouded key bag
  CBB key_seq, key_bag, key_value;
  ok = ok && CBB_init(keys.get(), 512) && CBB_add_asn1(keys.get(), &key_seq, CBS_ASN1_SEQUENCE) &&
       CBB_add_asn1(&key_seq, &key_bag, CBS_ASN1_SEQUENCE) && add_oid(&key_bag, kOidShroudedKeyBag) &&
       CBB_add_asn1(&key_bag, &key_value, CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) &&
       PKCS8_marshal_encrypted_private_key(&key_value, -1, EVP_aes_256_cbc(), password.data(), password.size(), salt,
                                           sizeof salt, kKdfIterations, key) &&
       CBB_flush(&key_bag) && add_bag_attributes(&key_bag, friendly_name, key_id, sizeof key_id) && CBB_flush(&key_seq);
  std::string key_contents = ok ? finish(keys.get()) : "";

  bssl::ScopedCBB safe;  // AuthenticatedSafe
  CBB safe_seq;
  ok = ok && CBB_init(safe.get(), 2048) && CBB_add_asn1(safe.get(), &safe_seq, CBS_ASN1_SEQUENCE) &&
       add_data_content_info(&safe_seq, reinterpret_cast<const uint8_t*>(cert_contents.data()), cert_contents.size()) &&
       add_data_content_info(&safe_seq, reinterpret_cast<const uint8_t*>(key_contents.data()), key_contents.size());
  std::string auth_safe = ok ? finish(safe.get()) : "";
  if (!ok || auth_safe.empty()) return RS::failure("cannot build the PKCS#12 file: " + drain_errors());

  uint8_t mac_salt[16];
  RAND_bytes(mac_salt, sizeof mac_salt);
  std::string mac_key =
      pkcs12_mac_key(password, std::string(reinterpret_cast<char*>(mac_salt), sizeof mac_salt), kMacIterations);
  uint8_t mac[SHA256_DIGEST_LENGTH];
  unsigned mac_len = 0;
  if (!HMAC(EVP_sha256(), mac_key.data(), mac_key.size(), reinterpret_cast<const uint8_t*>(auth_safe.data()),
            auth_safe.size(), mac, &mac_len))
    return RS::failure("cannot compute the PKCS#12 MAC: " + drain_errors());

  bssl::ScopedCBB pfx;
  CBB pfx_seq, mac_data, digest_info, alg, null;
  ok = CBB_init(pfx.get(), auth_safe.size() + 256) && CBB_add_asn1(pfx.get(), &pfx_seq, CBS_ASN1_SEQUENCE) &&
       CBB_add_asn1_uint64(&pfx_seq, 3) &&
       add_data_content_info(&pfx_seq, reinterpret_cast<const uint8_t*>(auth_safe.data()), auth_safe.size()) &&
       CBB_add_asn1(&pfx_seq, &mac_data, CBS_ASN1_SEQUENCE) &&
       CBB_add_asn1(&mac_data, &digest_info, CBS_ASN1_SEQUENCE) &&
       CBB_add_asn1(&digest_info, &alg, CBS_ASN1_SEQUENCE) && add_oid(&alg, kOidSha256) &&
       CBB_add_asn1(&alg, &null, CBS_ASN1_NULL) && CBB_flush(&digest_info) &&
       CBB_add_asn1_octet_string(&digest_info, mac, mac_len) && CBB_flush(&mac_data) &&
       CBB_add_asn1_octet_string(&mac_data, mac_salt, sizeof mac_salt) &&
       CBB_add_asn1_uint64(&mac_data, kMacIterations) && CBB_flush(&pfx_seq);
  std::string out = ok ? finish(pfx.get()) : "";
  if (out.empty()) return RS::failure("cannot build the PKCS#12 file: " + drain_errors());
  return out;
}

std::string friendly_name(X509* leaf) {
  PeerIdentity id = extract_identity(leaf);
  std::string who = id.cn.empty() ? id.subject : id.cn;
  std::string issuer_cn;
  if (X509_NAME* issuer = X509_get_issuer_name(leaf)) {
    int at = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
    if (at >= 0) issuer_cn = asn1_bytes(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, at)));
  }
  if (issuer_cn.empty()) issuer_cn = id.issuer;
  return who + " (" + issuer_cn + ", until " + iso8601(id.not_after).substr(0, 10) + ")";
}

Result<bool> export_pkcs12(const std::filesystem::path& chain_file, const std::filesystem::path& key_file,
                           const std::string& password, bool legacy, const std::filesystem::path& out) {
  using RB = Result<bool>;
  auto chain = read_certificates(chain_file);
  if (!chain) return RB::failure(chain.error() + " (is the name right? see `gatehouse ca list`)");
  auto key = read_private_key(key_file);
  if (!key) return RB::failure(key.error() + " (a certificate signed from a CSR has its key with the requester)");
  std::string name = friendly_name(chain->front().get());
  std::string der;
  if (legacy) {
    bssl::UniquePtr<STACK_OF(X509)> extra(sk_X509_new_null());
    for (size_t i = 1; i < chain->size(); ++i) sk_X509_push(extra.get(), bssl::UpRef((*chain)[i]).release());
    bssl::UniquePtr<PKCS12> p12(PKCS12_create(password.c_str(), name.c_str(), key->get(), chain->front().get(),
                                              extra.get(), 0, 0, 0, PKCS12_DEFAULT_ITER, 0));
    uint8_t* data = nullptr;
    int len = p12 ? i2d_PKCS12(p12.get(), &data) : -1;
    if (len <= 0) return RB::failure("cannot build the PKCS#12 file: " + drain_errors());
    der.assign(reinterpret_cast<char*>(data), static_cast<size_t>(len));
    OPENSSL_free(data);
  } else {
    auto built = build_pkcs12(key->get(), *chain, password, name);
    if (!built) return RB::failure(built.error());
    der = std::move(*built);
  }
  return write_file_atomic(out, der, 0600);
}

}  // namespace gatehouse::tls::ca
