// PKCS#12 (.p12) files that browsers and OS key stores import: key, certificate and chain.
// Modern: the key under PBES2 (PBKDF2 + AES-256-CBC), certificates in clear, HMAC-SHA-256 MAC,
// the way OpenSSL 3 writes them. Legacy: 3DES and RC2-40 with a SHA-1 MAC, for old importers.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::tls::ca {

// `chain_file`: leaf first, then intermediates. Writes `out` with mode 0600.
Result<bool> export_pkcs12(const std::filesystem::path& chain_file, const std::filesystem::path& key_file,
                           const std::string& password, bool legacy, const std::filesystem::path& out);

// What a key store shows for the certificate, so a tester with several can tell them apart:
// "alice (Acme Staging Intermediate, until 2027-03-05)".
std::string friendly_name(X509* leaf);

// The DER bytes of a modern PKCS#12 for `key` and `chain` (leaf first).
Result<std::string> build_pkcs12(EVP_PKEY* key, const CertChain& chain, const std::string& password,
                                 const std::string& friendly_name);

}  // namespace gatehouse::tls::ca
