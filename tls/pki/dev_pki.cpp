#include "tls/pki/dev_pki.hpp"

#include <ctime>
#include <system_error>

#include "tls/ca/ca_folder.hpp"
#include "tls/crl_publication.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"
#include "tls/pki/cert_builder.hpp"

namespace gatehouse::tls::pki {
namespace {

constexpr const char* kOrg = "Gatehouse Dev";
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kCrlLifetime = 365 * kDay;  // a dev CA revokes nothing unless asked

bool still_usable(const DevPki& pki) {
  for (const auto& f : {pki.root_cert(), pki.intermediate_cert(), pki.server_chain(), pki.tester_chain()}) {
    auto certs = read_certificates(f);
    if (!certs) return false;
    for (const auto& c : *certs)
      if (unix_time(X509_get0_notAfter(c.get())) < std::time(nullptr) + kDay) return false;
  }
  auto crls = read_crls(pki.crl());
  if (!crls || crls->size() != 2) return false;
  for (const auto& crl : *crls)
    if (unix_time(X509_CRL_get0_nextUpdate(crl.get())) < std::time(nullptr) + kDay) return false;
  return read_private_key(pki.server_key()).ok() && read_private_key(pki.tester_key()).ok();
}

}  // namespace

Result<DevPki> ensure_dev_pki(const std::filesystem::path& dir, bool* created) {
  using R = Result<DevPki>;
  DevPki pki{dir};
  if (created) *created = false;
  if (still_usable(pki)) return pki;

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return R::failure("cannot create " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);

  auto root_key = generate_key(KeyType::ecdsa_p256);
  CertSpec root_spec{
      .cn = "Gatehouse Dev Root CA", .o = {kOrg}, .not_after = 10 * 365 * kDay, .is_ca = true, .path_len = 1};
  auto root = issue_certificate(root_spec, root_key.get(), nullptr, root_key.get());
  auto inter_key = generate_key(KeyType::ecdsa_p256);
  CertSpec inter_spec{
      .cn = "Gatehouse Dev Intermediate CA", .o = {kOrg}, .not_after = 5 * 365 * kDay, .is_ca = true, .path_len = 0};
  if (!root) return R::failure(root.error());
  const std::string crl_base = std::string("http://") + kDevAdminAddress + "/crl";
  inter_spec.crl_url = crl_url(crl_base, X509_get_subject_name(root->get()));
  auto inter = issue_certificate(inter_spec, inter_key.get(), root->get(), root_key.get());
  if (!inter) return R::failure(inter.error());

  auto server_key = generate_key(KeyType::ecdsa_p256);
  CertSpec server_spec{.cn = "localhost",
                       .o = {kOrg},
                       .sans = {"dns:localhost", "ip:127.0.0.1", "ip:::1"},
                       .not_after = 397 * kDay,
                       .purpose = Purpose::server,  // browsers' limit: 398
                       .crl_url = crl_url(crl_base, X509_get_subject_name(inter->get()))};
  auto server = issue_certificate(server_spec, server_key.get(), inter->get(), inter_key.get());
  if (!server) return R::failure(server.error());

  auto tester_key = generate_key(KeyType::ecdsa_p256);
  CertSpec tester_spec{.cn = "tester",
                       .o = {kOrg},
                       .ou = {"testers"},
                       .sans = {"email:tester@example.com"},
                       .not_after = 365 * kDay,
                       .purpose = Purpose::client,
                       .crl_url = server_spec.crl_url};
  auto tester = issue_certificate(tester_spec, tester_key.get(), inter->get(), inter_key.get());
  if (!tester) return R::failure(tester.error());

  const std::int64_t now = std::time(nullptr);
  auto inter_crl = ca::signed_crl_pem(inter->get(), inter_key.get(), {}, 1, now - 3600, now + kCrlLifetime);
  if (!inter_crl) return R::failure(inter_crl.error());
  auto root_crl = ca::signed_crl_pem(root->get(), root_key.get(), {}, 1, now - 3600, now + kCrlLifetime);
  if (!root_crl) return R::failure(root_crl.error());

  std::string inter_pem = to_pem(inter->get());
  const std::pair<std::filesystem::path, std::string> files[] = {
      {pki.root_cert(), to_pem(root->get())},
      {dir / "root.key", to_pem(root_key.get())},
      {pki.intermediate_cert(), inter_pem},
      {dir / "intermediate.key", to_pem(inter_key.get())},
      {pki.server_chain(), to_pem(server->get()) + inter_pem},
      {pki.server_key(), to_pem(server_key.get())},
      {pki.tester_chain(), to_pem(tester->get()) + inter_pem},
      {pki.tester_key(), to_pem(tester_key.get())},
      {pki.crl(), *inter_crl + *root_crl},
  };
  for (const auto& [path, text] : files) {
    bool secret = path.extension() == ".key";
    auto written = write_file_atomic(path, text, secret ? 0600 : 0644);
    if (!written) return R::failure(written.error());
  }
  if (created) *created = true;
  return pki;
}

}  // namespace gatehouse::tls::pki
