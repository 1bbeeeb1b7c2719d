#include "tls/crl_publication.hpp"

#include <cstdio>

#include "tls/identity.hpp"

namespace gatehouse::tls {

std::string crl_file_name(const X509_NAME* issuer) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08lx", X509_NAME_hash(const_cast<X509_NAME*>(issuer)));
  return std::string(hex) + ".crl";
}

Result<std::string> checked_crl_base_url(const std::string& base) {
  using R = Result<std::string>;
  if (base.empty()) return base;
  if (!base.starts_with("http://") || base.size() <= 7)
    return R::failure("the CRL URL '" + base +
                      "' must be a plain http:// URL (CRL clients fetch it before they "
                      "can trust any https server), e.g. http://pki.example.com/crl");
  for (unsigned char c : base)
    if (c <= ' ' || c >= 0x7f || c == ',')
      return R::failure("the CRL URL '" + base +
                        "' must be printable ASCII without spaces or commas "
                        "(percent-encode anything else)");
  std::string trimmed = base;
  while (trimmed.ends_with('/')) trimmed.pop_back();
  return trimmed;
}

std::string crl_url(const std::string& base, const X509_NAME* issuer) {
  return base.empty() ? "" : base + "/" + crl_file_name(issuer);
}

std::vector<std::string> crl_distribution_urls(X509* cert) {
  std::vector<std::string> urls;
  bssl::UniquePtr<CRL_DIST_POINTS> points(
      static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
  for (size_t i = 0; points && i < sk_DIST_POINT_num(points.get()); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
    if (!point->distpoint || point->distpoint->type != 0) continue;  // 0: a full name
    const GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (size_t n = 0; n < sk_GENERAL_NAME_num(names); ++n) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, n);
      if (name->type != GEN_URI) continue;
      urls.push_back(asn1_bytes(name->d.uniformResourceIdentifier));
    }
  }
  return urls;
}

std::string crl_der(X509_CRL* crl) {
  uint8_t* der = nullptr;
  int len = i2d_X509_CRL(crl, &der);
  bssl::UniquePtr<uint8_t> owned(der);
  return len > 0 ? std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len)) : "";
}

}  // namespace gatehouse::tls
