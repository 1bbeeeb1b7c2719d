#include "tls/strict_checks.hpp"

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

}  // namespace

VerifyOutcome strict_checks(STACK_OF(X509)* chain, const VerifyOptions&) {
  const size_t n = sk_X509_num(chain);
  for (size_t i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(chain, i);
    const bool anchor = i + 1 == n;
    const bool issuer = i > 0;
    const uint32_t flags = X509_get_extension_flags(cert);
    if (!serial_ok(cert))
      return fail(Reason::invalid_certificate, i, cert, "has a serial number that is zero, negative or longer than 20 bytes");
    if (X509_get_version(cert) != X509_VERSION_3 && X509_get_ext_count(cert) > 0)
      return fail(Reason::invalid_certificate, i, cert, "has extensions but is not a version 3 certificate");
    if (issuer) {
      if (!(flags & EXFLAG_CA) || !is_critical(cert, NID_basic_constraints))
        return fail(Reason::untrusted_issuer, i, cert, "issues certificates but lacks a critical basicConstraints CA:TRUE");
      if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN))
        return fail(Reason::untrusted_issuer, i, cert, "issues certificates but its key usage lacks keyCertSign");
      if (!X509_get0_subject_key_id(cert))
        return fail(Reason::invalid_certificate, i, cert, "is a CA certificate without a subject key identifier");
    } else if (flags & EXFLAG_KUSAGE && X509_get_key_usage(cert) & KU_KEY_CERT_SIGN && !(flags & EXFLAG_CA)) {
      return fail(Reason::wrong_usage, i, cert, "asserts keyCertSign but is not a CA certificate");
    }
    if (!anchor) {
      if (!has_extension(cert, NID_authority_key_identifier))
        return fail(Reason::invalid_certificate, i, cert, "has no authority key identifier");
      if (weak_signature(cert))
        return fail(Reason::bad_signature, i, cert, "is signed with a broken algorithm (SHA-1 or MD5)");
    }
  }
  return {};
}

}  // namespace gatehouse::tls
