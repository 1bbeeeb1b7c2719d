#include "tls/server_credentials.hpp"

#include <ctime>

#include "tls/der.hpp"
#include "tls/diagnose/inspect.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls {
namespace {

// Certificates closer than this to their end are reported at start-up and by `gatehouse check`.
constexpr std::int64_t kExpiryWarning = 14 * 86400;

std::vector<std::string> dns_names(X509* cert) {
  PeerIdentity id = extract_identity(cert);
  if (id.dns.empty() && !id.cn.empty()) id.dns.push_back(id.cn);
  for (auto& n : id.dns) n = ascii_lower(n);
  return id.dns;
}

}  // namespace

std::optional<ServerCredential> load_credential(const conf::CertificateSettings& c, const std::string& file,
                                                conf::Diagnostics& problems) {
  auto chain = read_certificates(c.cert.path);
  if (!chain) problems.add(file, c.cert.source, chain.error());
  auto key = read_private_key(c.key.path);
  if (!key) problems.add(file, c.key.source, key.error());
  if (!chain || !key) return std::nullopt;
  // The same words as `gatehouse inspect`: leaf first, each certificate issued by the next.
  for (const auto& problem : diagnose::chain_order_problems(*chain)) {
    problems.add(file, c.cert.source, c.cert.path.string() + ": " + problem);
    return std::nullopt;
  }
  X509* leaf = chain->front().get();
  if (!X509_check_private_key(leaf, key->get())) {
    drain_errors();
    problems.add(
        file, c.key.source,
        c.key.path.string() + " is not the private key of " + c.cert.path.string() + " ('" + subject_line(leaf) + "')");
    return std::nullopt;
  }
  ServerCredential cred;
  cred.not_after = unix_time(X509_get0_notAfter(leaf));
  cred.subject = subject_line(leaf);
  cred.uri = extract_identity(leaf).uri;
  // As HAProxy names them in PROXY v2: "ecdsa-with-SHA256", "RSA-SHA256"; "EC256", "RSA2048".
  if (const char* sn = OBJ_nid2sn(X509_get_signature_nid(leaf))) cred.sig_alg = sn;
  int bits = EVP_PKEY_bits(key->get());
  int type = EVP_PKEY_id(key->get());
  cred.key_alg = (type == EVP_PKEY_RSA  ? "RSA"
                  : type == EVP_PKEY_EC ? "EC"
                                        : "unknown") +
                 (type == EVP_PKEY_RSA || type == EVP_PKEY_EC ? std::to_string(bits) : std::string());
  const std::int64_t now = std::time(nullptr);
  if (cred.not_after < now) {
    problems.add(
        file, c.cert.source,
        c.cert.path.string() + ": server certificate '" + cred.subject + "' expired on " + iso8601(cred.not_after));
    return std::nullopt;
  }
  if (cred.not_after < now + kExpiryWarning)
    problems.warn(file, c.cert.source,
                  c.cert.path.string() + ": server certificate '" + cred.subject + "' " +
                      diagnose::days_phrase(cred.not_after - now) + " (" + iso8601(cred.not_after) + ")");
  if (chain->size() == 1 && X509_check_issued(leaf, leaf) != X509_V_OK)
    problems.warn(file, c.cert.source,
                  c.cert.path.string() + ": holds only the server certificate, issued by '" + issuer_line(leaf) +
                      "'; clients that lack that intermediate will fail: "
                      "append it after the server certificate");
  for (const auto& cert : *chain) {
    auto buffer = der_buffer_of(cert.get());
    if (!buffer) {
      problems.add(
          file, c.cert.source,
          c.cert.path.string() + ": '" + subject_line(cert.get()) + "' cannot be DER-encoded (or memory ran out)");
      return std::nullopt;
    }
    cred.chain.push_back(std::move(buffer));
    cred.chain_view.push_back(cred.chain.back().get());
  }
  cred.ecdsa = EVP_PKEY_id(key->get()) == EVP_PKEY_EC;
  cred.key = std::move(*key);
  cred.names = dns_names(leaf);
  return cred;
}

Result<CertChain> load_ca_file(const conf::FileRef& ref, const char* what, std::vector<std::string>& warnings) {
  auto certs = read_certificates(ref.path);
  if (!certs) return certs;
  for (const auto& cert : *certs) {
    if (!(X509_get_extension_flags(cert.get()) & EXFLAG_CA))
      return Result<CertChain>::failure(ref.path.string() + ": '" + subject_line(cert.get()) + "' in " + what +
                                        " is not a CA certificate");
    auto not_after = unix_time(X509_get0_notAfter(cert.get()));
    if (not_after < std::time(nullptr) + kExpiryWarning && not_after >= std::time(nullptr))
      warnings.push_back(ref.path.string() + ": " + what + " '" + subject_line(cert.get()) + "' " +
                         diagnose::days_phrase(not_after - std::time(nullptr)));
    if (not_after < std::time(nullptr))
      return Result<CertChain>::failure(ref.path.string() + ": " + what + " '" + subject_line(cert.get()) +
                                        "' expired on " + iso8601(not_after));
  }
  return certs;
}

namespace {

LoadedCertificate describe(const char* kind, X509* cert) {
  return {kind, subject_line(cert), serial_text(cert), unix_time(X509_get0_notBefore(cert)),
          unix_time(X509_get0_notAfter(cert))};
}

}  // namespace

std::vector<LoadedCertificate> describe_loaded(const conf::TlsSettings& tls, const CertChain& anchors,
                                               const CertChain& intermediates, const CrlList& crls) {
  std::vector<LoadedCertificate> out;
  for (const auto& c : tls.certificates) {
    auto chain = read_certificates(c.cert.path);  // already read once; this is start-up only
    if (chain && !chain->empty()) out.push_back(describe("server", chain->front().get()));
    ERR_clear_error();
  }
  for (const auto& a : anchors) out.push_back(describe("client_ca", a.get()));
  for (const auto& i : intermediates) out.push_back(describe("client_intermediate", i.get()));
  for (const auto& crl : crls)
    out.push_back({"crl", diagnose::crl_issuer(crl.get()), "", unix_time(X509_CRL_get0_lastUpdate(crl.get())),
                   unix_time(X509_CRL_get0_nextUpdate(crl.get()))});
  return out;
}

}  // namespace gatehouse::tls
