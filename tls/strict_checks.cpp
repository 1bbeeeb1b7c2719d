#include "tls/strict_checks.hpp"

#include <string>
#include <vector>

#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls {
namespace {

VerifyOutcome fail(Reason reason, size_t depth, X509* cert, const std::string& why) {
  return {reason, "certificate '" + subject_line(cert) + "' " + why, static_cast<int>(depth), issuer_line(cert)};
}

bool is_critical(X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index));
}

bool has_extension(X509* cert, int nid) { return X509_get_ext_by_NID(cert, nid, -1) >= 0; }

// RFC 5280 4.1.2.2: positive, at most 20 octets.
bool serial_ok(X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) return false;
  int len = ASN1_STRING_length(serial);
  const uint8_t* data = ASN1_STRING_get0_data(serial);
  bool zero = true;
  for (int i = 0; i < len; ++i) zero &= data[i] == 0;
  return len > 0 && len <= 20 && !zero;
}

bool weak_signature(X509* cert) {
  switch (X509_get_signature_nid(cert)) {
    case NID_sha1WithRSAEncryption:
    case NID_ecdsa_with_SHA1:
    case NID_md5WithRSAEncryption:
    case NID_md4WithRSAEncryption:
    case NID_dsaWithSHA1:
      return true;
    default:
      return false;
  }
}

std::vector<std::string> dns_sans(X509* cert) {
  std::vector<std::string> out;
  bssl::UniquePtr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (size_t i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type == GEN_DNS) out.push_back(asn1_bytes(gn->d.dNSName));
  }
  return out;
}

// The DNS names of one side (permitted or excluded) of a nameConstraints extension.
std::vector<std::string> constraint_dns(STACK_OF(GENERAL_SUBTREE) * subtrees) {
  std::vector<std::string> out;
  for (size_t i = 0; subtrees && i < sk_GENERAL_SUBTREE_num(subtrees); ++i) {
    const GENERAL_SUBTREE* st = sk_GENERAL_SUBTREE_value(subtrees, i);
    if (st->base->type == GEN_DNS) out.push_back(asn1_bytes(st->base->d.dNSName));
  }
  return out;
}

bool empty_subject(X509* cert) { return X509_NAME_entry_count(X509_get_subject_name(cert)) == 0; }

// Name constraints: only on CAs, always critical, well-formed; and a wildcard SAN must not
// reach into an excluded subtree (BoringSSL compares the wildcard as a literal name).
VerifyOutcome check_name_constraints(STACK_OF(X509) * chain) {
  const size_t n = sk_X509_num(chain);
  std::vector<std::string> excluded;
  for (size_t i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(chain, i);
    int crit = 0;
    bssl::UniquePtr<NAME_CONSTRAINTS> nc(
        static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &crit, nullptr)));
    if (!nc) continue;
    if (!(X509_get_extension_flags(cert) & EXFLAG_CA))
      return fail(Reason::invalid_certificate, i, cert, "carries name constraints but is not a CA certificate");
    if (!crit) return fail(Reason::invalid_certificate, i, cert, "has name constraints that are not marked critical");
    for (auto* side : {nc->permittedSubtrees, nc->excludedSubtrees})
      for (const auto& name : constraint_dns(side))
        if (!name.empty() && !valid_dns_name(name))
          return fail(Reason::invalid_certificate, i, cert, "has a malformed DNS name constraint '" + name + "'");
    for (auto& e : constraint_dns(nc->excludedSubtrees)) excluded.push_back(e);
  }
  X509* leaf = sk_X509_value(chain, 0);
  for (const auto& san : dns_sans(leaf)) {
    if (!san.starts_with("*.")) continue;
    const std::string base = san.substr(1);  // ".example.com"
    for (const auto& e : excluded)
      if (e.size() > base.size() && e.ends_with(base))
        return fail(Reason::invalid_certificate, 0, leaf,
                    "has the wildcard name '" + san + "', which covers '" + e + "', a name its issuer excludes");
  }
  return {};
}

}  // namespace

bool valid_dns_name(const std::string& name) {
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty() || rest.size() > 253) return false;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t dot = rest.find('.', start);
    std::string_view label = rest.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

VerifyOutcome strict_checks(STACK_OF(X509) * chain, const CrlList& crls) {
  const size_t n = sk_X509_num(chain);
  for (size_t i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(chain, i);
    const bool anchor = i + 1 == n;
    const bool issuer = i > 0;
    const uint32_t flags = X509_get_extension_flags(cert);
    if (!serial_ok(cert))
      return fail(Reason::invalid_certificate, i, cert,
                  "has a serial number that is zero, negative or longer than 20 bytes");
    if (X509_get_version(cert) != X509_VERSION_3 && X509_get_ext_count(cert) > 0)
      return fail(Reason::invalid_certificate, i, cert, "has extensions but is not a version 3 certificate");
    if (is_critical(cert, NID_authority_key_identifier))
      return fail(Reason::invalid_certificate, i, cert,
                  "marks its authority key identifier critical, which RFC 5280 forbids");
    if (has_extension(cert, NID_policy_constraints) && !is_critical(cert, NID_policy_constraints))
      return fail(Reason::invalid_certificate, i, cert, "has policy constraints that are not marked critical");
    if (empty_subject(cert) && (flags & EXFLAG_CA))
      return fail(Reason::invalid_certificate, i, cert, "is a CA certificate with an empty subject");
    if (empty_subject(cert) && !is_critical(cert, NID_subject_alt_name))
      return fail(Reason::invalid_certificate, i, cert, "has an empty subject, so its subjectAltName must be critical");
    for (const auto& san : dns_sans(cert))
      if (!valid_dns_name(san))
        return fail(Reason::invalid_certificate, i, cert, "has a malformed DNS name '" + san + "'");
    if (anchor && (flags & EXFLAG_CRITICAL))
      return fail(Reason::untrusted_issuer, i, cert, "has a critical extension Gatehouse does not understand");
    // A certificate issued by someone else must say by which key (RFC 5280 4.2.1.1).
    if (X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) != 0 &&
        !has_extension(cert, NID_authority_key_identifier))
      return fail(Reason::invalid_certificate, i, cert, "has no authority key identifier");
    if (!anchor) {
      for (const auto& crl : crls)
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_issuer_name(cert)) == 0 &&
            X509_CRL_get_ext_by_NID(crl.get(), NID_crl_number, -1) < 0)
          return fail(Reason::revoked, i, cert,
                      "cannot be checked for revocation: the CRL of its issuer has no CRL "
                      "number, so it is not a valid CRL");
    }
    if (issuer) {
      if (!(flags & EXFLAG_CA) || !is_critical(cert, NID_basic_constraints))
        return fail(Reason::untrusted_issuer, i, cert,
                    "issues certificates but lacks a critical basicConstraints CA:TRUE");
      if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN))
        return fail(Reason::untrusted_issuer, i, cert, "issues certificates but its key usage lacks keyCertSign");
      if (!X509_get0_subject_key_id(cert))
        return fail(Reason::invalid_certificate, i, cert, "is a CA certificate without a subject key identifier");
    } else if (flags & EXFLAG_KUSAGE && X509_get_key_usage(cert) & KU_KEY_CERT_SIGN && !(flags & EXFLAG_CA)) {
      return fail(Reason::wrong_usage, i, cert, "asserts keyCertSign but is not a CA certificate");
    }
    if (!anchor) {
      if (weak_signature(cert))
        return fail(Reason::bad_signature, i, cert, "is signed with a broken algorithm (SHA-1 or MD5)");
    }
  }
  return check_name_constraints(chain);
}

}  // namespace gatehouse::tls
