// Certificate signing requests: made on the requester's side (the key never leaves it), read
// and checked on the CA's side.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tls/bssl.hpp"
#include "tls/pki/cert_builder.hpp"

namespace gatehouse::tls::ca {

struct CsrRequest {
  std::string cn;
  std::vector<std::string> o;
  std::vector<std::string> ou;
  std::vector<std::string> sans;
  pki::KeyType key = pki::KeyType::ecdsa_p256;
};

struct Csr {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509_REQ> request;
};

Result<Csr> make_csr(const CsrRequest& request);
Result<bssl::UniquePtr<X509_REQ>> read_csr(const std::filesystem::path& file);  // PEM or DER
std::string csr_to_pem(X509_REQ* request);

}  // namespace gatehouse::tls::ca
