#include "tests/support/test_pki.hpp"

#include <ctime>
#include <fstream>
#include <random>
#include <stdexcept>

#include "tls/ca/ca_folder.hpp"
#include "tls/identity.hpp"
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

Cert make_variant(const Cert& like, const Cert& issuer, std::int64_t not_before, std::int64_t not_after) {
  Cert c;
  c.key = bssl::UpRef(like.key);
  const CertSpec spec{.not_before = not_before, .not_after = not_after, .is_ca = true};
  auto cert = tls::pki::issue_certificate(spec, c.key.get(), issuer.x509.get(), issuer.key.get(),
                                          X509_get_subject_name(like.x509.get()));
  if (!cert) throw std::runtime_error(cert.error());
  c.x509 = std::move(*cert);
  return c;
}

Cert make_look_alike_root(const Cert& original) {
  Cert c;
  c.key = tls::pki::generate_key(KeyType::ecdsa_p256);
  bssl::UniquePtr<X509> x(X509_new());
  X509* o = original.x509.get();
  bool ok = x && X509_set_version(x.get(), X509_VERSION_3) && ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 4242) &&
            X509_set_subject_name(x.get(), X509_get_subject_name(o)) &&
            X509_set_issuer_name(x.get(), X509_get_subject_name(o)) &&
            X509_set1_notBefore(x.get(), X509_get0_notBefore(o)) && X509_set1_notAfter(x.get(), X509_get0_notAfter(o)) &&
            X509_set_pubkey(x.get(), c.key.get());
  for (int i = 0; ok && i < X509_get_ext_count(o); ++i) ok = X509_add_ext(x.get(), X509_get_ext(o, i), -1);
  if (!ok || !X509_sign(x.get(), c.key.get(), EVP_sha256())) throw std::runtime_error("cannot make a look-alike root");
  c.x509 = std::move(x);
  return c;
}

std::string crl_pem(const Cert& ca, std::initializer_list<const Cert*> revoked) {
  const std::int64_t now = std::time(nullptr);
  std::vector<tls::ca::IndexEntry> entries;
  for (const Cert* r : revoked)
    entries.push_back({.serial = tls::serial_text(r->x509.get()),
                       .issuer = tls::subject_line(ca.x509.get()),
                       .profile = "client",
                       .revoked = true,
                       .revoked_at = now - 60});
  auto pem = tls::ca::signed_crl_pem(ca.x509.get(), ca.key.get(), entries, 1, now - 3600, now + 86400);
  if (!pem) throw std::runtime_error(pem.error());
  return *pem;
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
