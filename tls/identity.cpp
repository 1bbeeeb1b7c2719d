#include "tls/identity.hpp"

#include <openssl/sha.h>

#include <ctime>

#include "tls/der.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls {
namespace {

std::vector<std::string> name_entries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0; i = X509_NAME_get_index_by_NID(name, nid, i)) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len >= 0) {
      out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
      OPENSSL_free(utf8);
    }
  }
  return out;
}

std::string ip_text(const ASN1_OCTET_STRING* s) {
  const uint8_t* d = ASN1_STRING_get0_data(s);
  int len = ASN1_STRING_length(s);
  char buf[64];
  if (len == 4) {
    snprintf(buf, sizeof buf, "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
    return buf;
  }
  if (len == 16) {
    std::string out;
    for (int i = 0; i < 16; i += 2) {
      snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (d[i] << 8) | d[i + 1]);
      out += buf;
    }
    return out;
  }
  return hex(d, static_cast<size_t>(len));
}

void add_sans(X509* cert, PeerIdentity& id) {
  bssl::UniquePtr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    switch (gn->type) {
      case GEN_DNS:
        id.dns.push_back(asn1_bytes(gn->d.dNSName));
        break;
      case GEN_EMAIL:
        id.email.push_back(asn1_bytes(gn->d.rfc822Name));
        break;
      case GEN_URI:
        id.uri.push_back(asn1_bytes(gn->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD:
        id.ip.push_back(ip_text(gn->d.iPAddress));
        break;
      default:
        break;
    }
  }
}

}  // namespace

std::string asn1_bytes(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string ascii_lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));  // ASCII only, no locale call
  return s;
}

std::string hex(const uint8_t* data, size_t len, bool colons, bool upper) {
  static constexpr char kLower[] = "0123456789abcdef";
  static constexpr char kUpper[] = "0123456789ABCDEF";
  const char* digits = upper ? kUpper : kLower;
  std::string out;
  out.reserve(len * 3);
  for (size_t i = 0; i < len; ++i) {
    if (colons && i) out += ':';
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string serial_text(const X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  return hex(ASN1_STRING_get0_data(serial), static_cast<size_t>(ASN1_STRING_length(serial)), true, true);
}

std::int64_t unix_time(const ASN1_TIME* t) {
  // ASN1_TIME_diff from the epoch keeps us clear of timegm and local time zones.
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, secs = 0;
  if (!t || !ASN1_TIME_diff(&days, &secs, epoch.get(), t)) return 0;
  return static_cast<std::int64_t>(days) * 86400 + secs;
}

std::string iso8601(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int common_name_count(const X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  int count = 0;
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i))
    ++count;
  return count;
}

PeerIdentity extract_identity(X509* cert) {
  PeerIdentity id;
  id.subject = subject_line(cert);
  id.issuer = issuer_line(cert);
  X509_NAME* subject = X509_get_subject_name(cert);
  auto cns = name_entries(subject, NID_commonName);
  if (!cns.empty()) id.cn = cns.front();
  id.o = name_entries(subject, NID_organizationName);
  id.ou = name_entries(subject, NID_organizationalUnitName);
  add_sans(cert, id);

  id.serial = serial_text(cert);

  // Left empty when the encoding fails: no allow rule on them can match then, and the router
  // refuses an identity without them (a deny rule on them could not match either).
  if (auto der = der_bytes_of(cert)) {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(der->data.get(), der->size, digest);
    id.fingerprint = hex(digest, sizeof digest);
  }
  if (auto spki = der_bytes_of(X509_get_X509_PUBKEY(cert))) {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(spki->data.get(), spki->size, digest);
    id.spki = hex(digest, sizeof digest);
  }
  id.not_before = unix_time(X509_get0_notBefore(cert));
  id.not_after = unix_time(X509_get0_notAfter(cert));
  return id;
}

}  // namespace gatehouse::tls
