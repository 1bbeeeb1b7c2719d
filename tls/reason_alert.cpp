#include "tls/reason_alert.hpp"

#include "tls/bssl.hpp"

namespace gatehouse::tls {

std::uint8_t reason_alert(Reason r) {
  switch (r) {
    case Reason::expired:
      return SSL_AD_CERTIFICATE_EXPIRED;
    case Reason::revoked:
      return SSL_AD_CERTIFICATE_REVOKED;
    case Reason::untrusted_issuer:
    case Reason::incomplete_chain:
      return SSL_AD_UNKNOWN_CA;
    case Reason::wrong_usage:
      return SSL_AD_UNSUPPORTED_CERTIFICATE;
    case Reason::bad_signature:
      return SSL_AD_DECRYPT_ERROR;
    case Reason::policy_denied:
      return SSL_AD_ACCESS_DENIED;
    case Reason::no_certificate:
      return SSL_AD_CERTIFICATE_REQUIRED;
    case Reason::crl_unavailable:  // nothing is wrong with the certificate: we cannot check it now
      return SSL_AD_CERTIFICATE_UNKNOWN;
    default:
      return SSL_AD_BAD_CERTIFICATE;
  }
}

}  // namespace gatehouse::tls
