#include "tls/pki/cert_builder.hpp"

#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/obj.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

namespace gatehouse::tls::pki {
namespace {

bool add_name_entry(X509_NAME* name, int nid, const std::string& value) {
  return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, reinterpret_cast<const uint8_t*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

Result<std::string> san_config_text(const std::vector<std::string>& sans) {
  std::string out;
  for (const auto& san : sans) {
    auto colon = san.find(':');
    std::string kind = colon == std::string::npos ? "" : san.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : san.substr(colon + 1);
    std::string tag;
    if (kind == "dns")
      tag = "DNS";
    else if (kind == "ip")
      tag = "IP";
    else if (kind == "email")
      tag = "email";
    else if (kind == "uri")
      tag = "URI";
    if (tag.empty() || value.empty() || value.find(',') != std::string::npos)
      return Result<std::string>::failure("SAN '" + san + "' must be dns:, ip:, email: or uri: followed by a value");
    out += (out.empty() ? "" : ",") + tag + ":" + value;
  }
  return out;
}

namespace {

bool set_random_serial(X509* cert) {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x40;  // and always 16 bytes long
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  bssl::UniquePtr<ASN1_INTEGER> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  return serial && X509_set_serialNumber(cert, serial.get()) == 1;
}

}  // namespace

bssl::UniquePtr<EVP_PKEY> generate_key(KeyType type) {
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (type == KeyType::ecdsa_p256 || type == KeyType::ecdsa_p384) {
    bssl::UniquePtr<EC_KEY> ec(
        EC_KEY_new_by_curve_name(type == KeyType::ecdsa_p256 ? NID_X9_62_prime256v1 : NID_secp384r1));
    if (!ec || !EC_KEY_generate_key(ec.get()) || !EVP_PKEY_assign_EC_KEY(pkey.get(), ec.release())) return nullptr;
    return pkey;
  }
  bssl::UniquePtr<RSA> rsa(RSA_new());
  bssl::UniquePtr<BIGNUM> e(BN_new());
  BN_set_word(e.get(), RSA_F4);
  int bits = type == KeyType::rsa2048 ? 2048 : 4096;
  if (!RSA_generate_key_ex(rsa.get(), bits, e.get(), nullptr) || !EVP_PKEY_assign_RSA(pkey.get(), rsa.release()))
    return nullptr;
  return pkey;
}

Result<bssl::UniquePtr<X509>> issue_certificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                                EVP_PKEY* issuer_key, const X509_NAME* subject) {
  using R = Result<bssl::UniquePtr<X509>>;
  bssl::UniquePtr<X509> cert(X509_new());
  bool ok = X509_set_version(cert.get(), X509_VERSION_3) && set_random_serial(cert.get());
  if (subject) ok = ok && X509_set_subject_name(cert.get(), const_cast<X509_NAME*>(subject));
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!subject) {
    for (const auto& o : spec.o) ok = ok && add_name_entry(name, NID_organizationName, o);
    for (const auto& ou : spec.ou) ok = ok && add_name_entry(name, NID_organizationalUnitName, ou);
    if (!spec.cn.empty()) ok = ok && add_name_entry(name, NID_commonName, spec.cn);
  }
  ok = ok && X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(spec.not_before));
  ok = ok && X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.not_after));
  ok = ok && X509_set_pubkey(cert.get(), subject_key);
  if (!ok) return R::failure("cannot fill in the certificate: " + drain_errors());

  std::string bc = spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  if (spec.is_ca && spec.path_len >= 0) bc += ",pathlen:" + std::to_string(spec.path_len);
  ok = add_extension(cert.get(), issuer, NID_basic_constraints, bc);
  if (spec.is_ca) {
    ok = ok && add_extension(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    bool rsa = EVP_PKEY_id(subject_key) == EVP_PKEY_RSA;
    ok = ok && add_extension(cert.get(), issuer, NID_key_usage,
                             rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
  }
  switch (spec.purpose) {
    case Purpose::client:
      ok = ok && add_extension(cert.get(), issuer, NID_ext_key_usage, "clientAuth");
      break;
    case Purpose::server:
      ok = ok && add_extension(cert.get(), issuer, NID_ext_key_usage, "serverAuth");
      break;
    case Purpose::client_and_server:
      ok = ok && add_extension(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth");
      break;
    case Purpose::none:
      break;
  }
  ok = ok && add_extension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (issuer) ok = ok && add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  if (!spec.sans.empty()) {
    auto sans = san_config_text(spec.sans);
    if (!sans) return R::failure(sans.error());
    ok = ok && add_extension(cert.get(), issuer, NID_subject_alt_name, *sans);
  }
  if (!spec.crl_url.empty())
    ok = ok && add_extension(cert.get(), issuer, NID_crl_distribution_points, "URI:" + spec.crl_url);
  if (!ok) return R::failure("cannot add certificate extensions: " + drain_errors());
  if (!X509_sign(cert.get(), issuer_key, EVP_sha256()))
    return R::failure("cannot sign the certificate: " + drain_errors());
  return cert;
}

}  // namespace gatehouse::tls::pki
