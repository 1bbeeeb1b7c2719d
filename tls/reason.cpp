#include "tls/reason.hpp"

#include "tls/bssl.hpp"

namespace gatehouse::tls {

std::string_view reason_keyword(Reason r) {
  static constexpr std::array<std::string_view, kReasonCount> kNames = {
      "ok",           "no_certificate", "untrusted_issuer", "incomplete_chain", "expired",
      "not_yet_valid", "revoked",       "wrong_usage",      "chain_too_long",   "bad_signature",
      "policy_denied", "handshake_timeout", "protocol_error", "name_mismatch", "invalid_certificate", "upstream_unavailable",
      "client_cert_too_large", "several_common_names"};
  return kNames[static_cast<std::size_t>(r)];
}

std::uint8_t reason_alert(Reason r) {
  switch (r) {
    case Reason::expired: return SSL_AD_CERTIFICATE_EXPIRED;
    case Reason::revoked: return SSL_AD_CERTIFICATE_REVOKED;
    case Reason::untrusted_issuer:
    case Reason::incomplete_chain: return SSL_AD_UNKNOWN_CA;
    case Reason::wrong_usage: return SSL_AD_UNSUPPORTED_CERTIFICATE;
    case Reason::bad_signature: return SSL_AD_DECRYPT_ERROR;
    case Reason::policy_denied: return SSL_AD_ACCESS_DENIED;
    case Reason::no_certificate: return SSL_AD_CERTIFICATE_REQUIRED;
    default: return SSL_AD_BAD_CERTIFICATE;
  }
}

}  // namespace gatehouse::tls
