// What a verified client certificate says about its holder, extracted once per handshake.
// Policy, logs and the whoami upstream see this value, never a BoringSSL object.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tls/bssl.hpp"

namespace gatehouse::tls {

struct PeerIdentity {
  std::string subject;  // RFC 2253: "CN=alice,OU=testers,O=Acme"
  std::string issuer;
  std::string cn;
  std::vector<std::string> o;
  std::vector<std::string> ou;
  std::vector<std::string> dns;
  std::vector<std::string> email;
  std::vector<std::string> uri;  // SPIFFE IDs included
  std::vector<std::string> ip;
  std::string serial;           // upper-case hex with colons, "4F:2A:..."
  std::string fingerprint;      // SHA-256 of the DER certificate, lower-case hex
  std::string spki;             // SHA-256 of the SubjectPublicKeyInfo, lower-case hex
  std::int64_t not_before = 0;  // Unix seconds
  std::int64_t not_after = 0;
};

// `cn` is the subject's only CN; a verified client never has several (several_common_names).
PeerIdentity extract_identity(X509* cert);
int common_name_count(const X509* cert);

// The certificate's serial as upper-case hex with colons ("4F:2A:...").
std::string serial_text(const X509* cert);
// The bytes of an ASN.1 string as they are (IA5 names in SANs and CRL URLs, name entries).
std::string asn1_bytes(const ASN1_STRING* s);
std::string ascii_lower(std::string s);  // DNS names and e-mail domains compare without case
std::string hex(const uint8_t* data, size_t len, bool colons = false, bool upper = false);
// Unix seconds of an ASN1_TIME, or 0 if it cannot be read.
std::int64_t unix_time(const ASN1_TIME* t);
// "2027-02-28T12:00:00Z"
std::string iso8601(std::int64_t unix_seconds);

}  // namespace gatehouse::tls
