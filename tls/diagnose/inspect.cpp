#include "tls/diagnose/inspect.hpp"

#include <openssl/ec_key.h>
#include <openssl/rsa.h>

#include "tls/crl_publication.hpp"
#include "tls/diagnose/printable.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls::diagnose {
namespace {

using Json = nlohmann::ordered_json;

std::vector<std::string> key_usages(X509* cert) {
  std::vector<std::string> out;
  if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE)) return out;
  const uint32_t ku = X509_get_key_usage(cert);
  const std::pair<uint32_t, const char*> names[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
                                                    {KU_NON_REPUDIATION, "nonRepudiation"},
                                                    {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
                                                    {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
                                                    {KU_KEY_AGREEMENT, "keyAgreement"},
                                                    {KU_KEY_CERT_SIGN, "keyCertSign"},
                                                    {KU_CRL_SIGN, "cRLSign"}};
  for (auto [bit, name] : names)
    if (ku & bit) out.emplace_back(name);
  return out;
}

std::vector<std::string> extended_key_usages(X509* cert) {
  std::vector<std::string> out;
  if (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE)) return out;
  const uint32_t xku = X509_get_extended_key_usage(cert);
  if (xku & XKU_SSL_CLIENT) out.emplace_back("clientAuth");
  if (xku & XKU_SSL_SERVER) out.emplace_back("serverAuth");
  if (xku & XKU_CODE_SIGN) out.emplace_back("codeSigning");
  if (xku & XKU_SMIME) out.emplace_back("emailProtection");
  if (xku & XKU_OCSP_SIGN) out.emplace_back("OCSPSigning");
  if (xku & XKU_TIMESTAMP) out.emplace_back("timeStamping");
  return out;
}

Json describe_cert(X509* cert, std::int64_t now) {
  PeerIdentity id = extract_identity(cert);
  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(cert));
  const bool ca = X509_get_extension_flags(cert) & EXFLAG_CA;
  Json j{
      {"kind", ca ? "CA certificate" : "certificate"},
      {"subject", id.subject},
      {"issuer", id.issuer},
      {"self_signed", X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0},
      {"serial", id.serial},
      {"sha256", id.fingerprint},
      {"key", key ? key_description(key.get()) : "unknown"},
      {"not_before", iso8601(id.not_before)},
      {"not_after", iso8601(id.not_after)},
      {"validity", id.not_before > now ? "not valid until " + iso8601(id.not_before) : days_phrase(id.not_after - now)},
      {"ca", ca}};
  if (ca && X509_get_pathlen(cert) >= 0) j["path_length"] = X509_get_pathlen(cert);
  j["key_usage"] = key_usages(cert);
  j["extended_key_usage"] = extended_key_usages(cert);
  Json sans = Json::object();
  if (!id.dns.empty()) sans["dns"] = id.dns;
  if (!id.ip.empty()) sans["ip"] = id.ip;
  if (!id.email.empty()) sans["email"] = id.email;
  if (!id.uri.empty()) sans["uri"] = id.uri;
  j["subject_alt_names"] = sans;
  if (auto urls = crl_distribution_urls(cert); !urls.empty()) j["crl_urls"] = urls;
  return j;
}

Json describe_chain(const CertChain& certs) {
  Json problems = chain_order_problems(certs);
  X509* last = certs.back().get();
  bool ends_at_root = X509_check_issued(last, last) == X509_V_OK;
  return Json{
      {"certificates", certs.size()},
      {"in_order", problems.empty()},
      {"ends_at", ends_at_root ? "a self-signed root (servers usually leave the root out)"
                               : "'" + subject_line(last) + "', issued by '" + issuer_line(last) + "' (not included)"},
      {"problems", problems}};
}

}  // namespace

std::vector<std::string> chain_order_problems(const CertChain& certs) {
  std::vector<std::string> problems;
  for (size_t i = 0; i + 1 < certs.size(); ++i) {
    X509* child = certs[i].get();
    X509* parent = certs[i + 1].get();
    if (X509_check_issued(parent, child) != X509_V_OK) {
      problems.push_back("certificate " + std::to_string(i + 1) + " ('" + subject_line(child) +
                         "') is not issued by the next one ('" + subject_line(parent) +
                         "'): the chain is out of order or has a gap; put the leaf first, then its issuer, "
                         "and so on");
    }
  }
  ERR_clear_error();
  return problems;
}

std::string crl_issuer(X509_CRL* crl) { return name_text(X509_CRL_get_issuer(crl)); }

std::string key_description(EVP_PKEY* key) {
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_EC: {
      int nid = EC_GROUP_get_curve_name(EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(key)));
      return nid == NID_X9_62_prime256v1 ? "ECDSA P-256"
             : nid == NID_secp384r1      ? "ECDSA P-384"
             : nid == NID_secp521r1      ? "ECDSA P-521"
                                         : "ECDSA";
    }
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(EVP_PKEY_bits(key)) + " bits";
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return "unknown key type";
  }
}

std::string days_phrase(std::int64_t left) {
  std::int64_t days = (left >= 0 ? left : -left) / 86400;
  std::string n = std::to_string(days) + (days == 1 ? " day" : " days");
  if (left < 0) return days == 0 ? "expired today" : "expired " + n + " ago";
  return days == 0 ? "expires within a day" : "expires in " + n;
}

nlohmann::ordered_json describe(const std::vector<FileContents>& files, std::int64_t now) {
  Json out = Json::array();
  for (const auto& f : files) {
    Json file{{"file", f.file.string()}, {"format", f.format}};
    Json certs = Json::array();
    for (const auto& c : f.certs) certs.push_back(describe_cert(c.get(), now));
    if (!certs.empty()) file["certificates"] = certs;
    if (f.certs.size() > 1) file["chain"] = describe_chain(f.certs);
    Json keys = Json::array();
    for (const auto& k : f.keys) {
      std::string match = "no certificate given here matches this key";
      for (const auto& other : files)
        for (size_t i = 0; i < other.certs.size(); ++i)
          if (X509_check_private_key(other.certs[i].get(), k.get()))
            match = "'" + subject_line(other.certs[i].get()) + "' (" + other.file.string() + ", certificate " +
                    std::to_string(i + 1) + ")";
      ERR_clear_error();
      keys.push_back(Json{{"kind", "private key"}, {"key", key_description(k.get())}, {"matches", match}});
    }
    if (!keys.empty()) file["keys"] = keys;
    Json csrs = Json::array();
    for (const auto& r : f.csrs) {
      bssl::UniquePtr<EVP_PKEY> key(X509_REQ_get_pubkey(r.get()));
      bool ok = key && X509_REQ_verify(r.get(), key.get()) == 1;
      ERR_clear_error();
      csrs.push_back(Json{{"kind", "certificate signing request"},
                          {"subject", name_text(X509_REQ_get_subject_name(r.get()))},
                          {"key", key ? key_description(key.get()) : "unknown"},
                          {"signature", ok ? "valid" : "does not verify: altered or not made with its key"}});
    }
    if (!csrs.empty()) file["csrs"] = csrs;
    Json crls = Json::array();
    for (const auto& c : f.crls) {
      std::int64_t next = unix_time(X509_CRL_get0_nextUpdate(c.get()));
      Json revoked = Json::array();
      STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(c.get());
      for (size_t i = 0; list && i < sk_X509_REVOKED_num(list); ++i) {
        const X509_REVOKED* r = sk_X509_REVOKED_value(list, i);
        const ASN1_INTEGER* s = X509_REVOKED_get0_serialNumber(r);
        revoked.push_back(
            Json{{"serial", hex(ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s)), true, true)},
                 {"revoked_at", iso8601(unix_time(X509_REVOKED_get0_revocationDate(r)))}});
      }
      crls.push_back(
          Json{{"kind", "CRL"},
               {"issuer", crl_issuer(c.get())},
               {"last_update", iso8601(unix_time(X509_CRL_get0_lastUpdate(c.get())))},
               {"next_update", next ? iso8601(next) : "none"},
               {"freshness", next ? (next < now ? "stale: its next update was due " + days_phrase(next - now).substr(8)
                                                : "next update " + days_phrase(next - now).substr(8))
                                  : "no next update"},
               {"revoked", revoked}});
    }
    if (!crls.empty()) file["crls"] = crls;
    out.push_back(std::move(file));
  }
  return out;
}

std::string describe_text(const nlohmann::ordered_json& description) {
  std::string out;
  // Every value passes through printable(): names are the certificate author's bytes.
  auto line = [&](const std::string& label, const std::string& value) {
    out +=
        "  " + printable(label) + std::string(label.size() < 13 ? 13 - label.size() : 1, ' ') + printable(value) + "\n";
  };
  auto join = [](const Json& list) {
    std::string s;
    for (const auto& v : list) s += (s.empty() ? "" : ", ") + v.get<std::string>();
    return s.empty() ? std::string("(none)") : s;
  };
  for (const auto& f : description) {
    out += printable(f["file"].get<std::string>()) + " (" + f["format"].get<std::string>() + ")\n";
    int n = 0;
    for (const auto& c : f.value("certificates", Json::array())) {
      out += "\n" + c["kind"].get<std::string>() + " " + std::to_string(++n) + "\n";
      line("subject:", c["subject"]);
      line("issuer:", c["issuer"].get<std::string>() + (c["self_signed"].get<bool>() ? " (self-signed)" : ""));
      line("valid:", c["not_before"].get<std::string>() + " to " + c["not_after"].get<std::string>() + ", " +
                         c["validity"].get<std::string>());
      line("key:", c["key"]);
      line("usage:", join(c["key_usage"]) + "; extended: " + join(c["extended_key_usage"]));
      for (const auto& [kind, values] : c["subject_alt_names"].items()) line(kind + ":", join(values));
      if (c.contains("path_length")) line("path length:", std::to_string(c["path_length"].get<int>()));
      if (c.contains("crl_urls")) line("CRL at:", join(c["crl_urls"]));
      line("serial:", c["serial"]);
      line("sha256:", c["sha256"]);
    }
    if (f.contains("chain")) {
      const auto& ch = f["chain"];
      out += "\nchain of " + std::to_string(ch["certificates"].get<int>()) + ": " +
             (ch["in_order"].get<bool>() ? "in order, " : "NOT in order, ") + "ends at " +
             printable(ch["ends_at"].get<std::string>()) + "\n";
      for (const auto& p : ch["problems"]) out += "  problem: " + printable(p.get<std::string>()) + "\n";
    }
    for (const auto& k : f.value("keys", Json::array()))
      out += "\nprivate key: " + k["key"].get<std::string>() + ", matches " +
             printable(k["matches"].get<std::string>()) + "\n";
    for (const auto& r : f.value("csrs", Json::array()))
      out += "\nCSR: " + printable(r["subject"].get<std::string>()) + ", " + r["key"].get<std::string>() +
             ", signature " + r["signature"].get<std::string>() + "\n";
    for (const auto& c : f.value("crls", Json::array())) {
      out += "\nCRL from " + printable(c["issuer"].get<std::string>()) + "\n";
      line("updated:", c["last_update"]);
      line("next update:", c["next_update"].get<std::string>() + " (" + c["freshness"].get<std::string>() + ")");
      line("revoked:", std::to_string(c["revoked"].size()) + " certificate(s)");
      for (const auto& r : c["revoked"])
        line("", r["serial"].get<std::string>() + " on " + r["revoked_at"].get<std::string>());
    }
  }
  return out;
}

}  // namespace gatehouse::tls::diagnose
