#include "tests/support/test_pki.hpp"

#include <fstream>
#include <random>
#include <stdexcept>

#include "tls/pem_io.hpp"

namespace gatehouse::test {

using tls::pki::CertSpec;
using tls::pki::KeyType;
using tls::pki::Purpose;

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto p = std::filesystem::temp_directory_path() / ("gatehouse-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) const {
  auto p = path_ / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

namespace {
Cert issue(const CertSpec& spec, const Cert* issuer, KeyType type) {
  Cert c;
  c.key = tls::pki::generate_key(type);
  auto cert = tls::pki::issue_certificate(spec, c.key.get(), issuer ? issuer->x509.get() : nullptr,
                                          issuer ? issuer->key.get() : c.key.get());
  if (!cert) throw std::runtime_error(cert.error());
  c.x509 = std::move(*cert);
  return c;
}
}  // namespace

Cert make_root(const std::string& cn, const std::string& org, KeyType type) {
  return issue(CertSpec{.cn = cn, .o = {org}, .not_after = 3650LL * 86400, .is_ca = true}, nullptr, type);
}

Cert make_intermediate(const std::string& cn, const std::string& org, const Cert& issuer, int path_len) {
  return issue(CertSpec{.cn = cn, .o = {org}, .not_after = 1825LL * 86400, .is_ca = true, .path_len = path_len},
               &issuer, KeyType::ecdsa_p256);
}

Cert make_leaf(CertSpec spec, const Cert* issuer, KeyType type) {
  if (spec.purpose == Purpose::none && !spec.is_ca) spec.purpose = Purpose::client;
  return issue(spec, issuer, type);
}

std::filesystem::path write_chain(const TempDir& dir, const std::string& name,
                                  std::initializer_list<const Cert*> certs) {
  std::string text;
  for (const Cert* c : certs) text += tls::to_pem(c->x509.get());
  return dir.write(name, text);
}

std::filesystem::path write_key(const TempDir& dir, const std::string& name, const Cert& cert) {
  return dir.write(name, tls::to_pem(cert.key.get()));
}

}  // namespace gatehouse::test
