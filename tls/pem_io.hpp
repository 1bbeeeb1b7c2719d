// Reading certificates and keys from PEM files, writing them back, with messages that name
// the file and say what is wrong in it.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::tls {

// Every certificate in a PEM file, in file order. An empty or non-PEM file is an error.
Result<CertChain> read_certificates(const std::filesystem::path& file);
// Every CRL in a PEM file (or one DER CRL).
Result<std::vector<bssl::UniquePtr<X509_CRL>>> read_crls(const std::filesystem::path& file);
Result<bssl::UniquePtr<EVP_PKEY>> read_private_key(const std::filesystem::path& file);

std::string to_pem(X509* cert);
std::string to_pem(X509_CRL* crl);
std::string to_pem(EVP_PKEY* key);

// Writes via a temporary file and rename, so readers never see half a file.
// `mode` applies to the new file (0600 for private keys).
Result<bool> write_file_atomic(const std::filesystem::path& file, const std::string& data, unsigned mode);

std::string name_text(const X509_NAME* name);  // RFC 2253, UTF-8 kept
std::string bio_text(BIO* bio);                // everything written to a memory BIO
std::string subject_line(const X509* cert);    // "CN=alice,OU=testers,O=Acme" (RFC 2253 order)
std::string issuer_line(const X509* cert);

}  // namespace gatehouse::tls
