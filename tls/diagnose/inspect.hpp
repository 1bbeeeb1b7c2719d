// `gatehouse inspect`: what is in a PEM, DER or PKCS#12 file, in plain words or JSON.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::tls::diagnose {

struct FileContents {
  std::filesystem::path file;
  std::string format;  // "PEM", "DER", "PKCS#12"
  CertChain certs;
  std::vector<bssl::UniquePtr<EVP_PKEY>> keys;
  std::vector<bssl::UniquePtr<X509_REQ>> csrs;
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
};

// Reads everything the file holds. `password` opens PKCS#12 files.
Result<FileContents> read_any(const std::filesystem::path& file, const std::string& password);

// One JSON document describing every item of every file; `now` makes "expires in" testable.
nlohmann::ordered_json describe(const std::vector<FileContents>& files, std::int64_t now);
// The same, as text for people.
std::string describe_text(const nlohmann::ordered_json& description);

// "certificate 2 ('CN=x') is not issued by the next one ..." for each break in a leaf-first chain.
std::vector<std::string> chain_order_problems(const CertChain& certs);

std::string key_description(EVP_PKEY* key);
std::string crl_issuer(X509_CRL* crl);               // RFC 2253  // "ECDSA P-256", "RSA 2048 bits"
std::string days_phrase(std::int64_t seconds_left);  // "expires in 12 days", "expired 3 days ago"

}  // namespace gatehouse::tls::diagnose
