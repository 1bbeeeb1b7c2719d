// Minting keys and X.509 certificates with BoringSSL: the dev PKI, the tests' PKIs and (later)
// `gatehouse ca` all go through here. Depends on nothing but BoringSSL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::tls::pki {

enum class KeyType { ecdsa_p256, ecdsa_p384, rsa2048, rsa4096 };

bssl::UniquePtr<EVP_PKEY> generate_key(KeyType type);

enum class Purpose { none, client, server, client_and_server };

struct CertSpec {
  std::string cn;
  std::vector<std::string> o;
  std::vector<std::string> ou;
  // "dns:localhost", "ip:127.0.0.1", "email:a@b.c", "uri:spiffe://corp/x"
  std::vector<std::string> sans;
  // Validity relative to now, in seconds; negative = in the past.
  std::int64_t not_before = -3600;
  std::int64_t not_after = 90LL * 86400;
  bool is_ca = false;
  int path_len = -1;  // CA only; -1 = no limit
  Purpose purpose = Purpose::none;
  std::string crl_url;  // a CRL distribution point (http://...), when the issuer publishes one
};

// "dns:x,ip:y" → the OpenSSL config text of a subjectAltName ("DNS:x,IP:y"), or an error.
Result<std::string> san_config_text(const std::vector<std::string>& sans);

// Signs `spec` for `subject_key` with `issuer_key`. A null `issuer` self-signs. With `subject`
// (from a CSR), that name is used instead of cn/o/ou.
Result<bssl::UniquePtr<X509>> issue_certificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                                EVP_PKEY* issuer_key, const X509_NAME* subject = nullptr);

}  // namespace gatehouse::tls::pki
