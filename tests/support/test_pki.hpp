// Certificates minted per test with tls/pki (never committed, so they never expire on us).
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>

#include "tls/pki/cert_builder.hpp"

namespace gatehouse::test {

// A fresh folder under the system temp dir, removed with its contents at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

struct Cert {
  bssl::UniquePtr<X509> x509;
  bssl::UniquePtr<EVP_PKEY> key;
};

Cert make_root(const std::string& cn, const std::string& org, tls::pki::KeyType type = tls::pki::KeyType::ecdsa_p256);
Cert make_intermediate(const std::string& cn, const std::string& org, const Cert& issuer, int path_len = -1);
// A leaf from `spec` (purpose client unless the spec says otherwise); null issuer self-signs.
Cert make_leaf(tls::pki::CertSpec spec, const Cert* issuer, tls::pki::KeyType type = tls::pki::KeyType::ecdsa_p256);

// The same subject and key as `like` (so the same key identifier), another serial and these
// dates (seconds from now), issued by `issuer`: a CA certificate only the bytes tell apart.
Cert make_variant(const Cert& like, const Cert& issuer, std::int64_t not_before, std::int64_t not_after);
// A root named like `original`, with its extensions (key identifiers) but another key: only a
// signature check tells what it "issued" from what the original issued.
Cert make_look_alike_root(const Cert& original);
// A CRL (PEM) of `ca` listing `revoked`, valid from an hour ago for a day.
std::string crl_pem(const Cert& ca, std::initializer_list<const Cert*> revoked);

// Writes certs (leaf first) as one PEM file and returns its path.
std::filesystem::path write_chain(const TempDir& dir, const std::string& name,
                                  std::initializer_list<const Cert*> certs);
std::filesystem::path write_key(const TempDir& dir, const std::string& name, const Cert& cert);

}  // namespace gatehouse::test
