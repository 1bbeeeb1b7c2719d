// Where a CRL is published: every certificate Gatehouse issues may name, in its CRL
// distribution point, BASE/<hash>.crl, where <hash> is its issuer's name hash as `openssl x509
// -issuer_hash` prints it. `gatehouse ca crl` writes the same names under DIR/crl/, for any
// static web server, and the proxy's admin listener serves the CRLs it loaded under /crl/.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::tls {

// "5f1c0a3e.crl" for the CA whose subject is `issuer`.
std::string crl_file_name(const X509_NAME* issuer);

// Checks a base URL given by the CA's operator: plain http (a client fetching a CRL cannot
// first verify an https server with the certificate it is checking), printable ASCII with no
// space or comma (the extension is written from config text, where a comma separates names).
Result<std::string> checked_crl_base_url(const std::string& base);

// BASE/<hash>.crl for certificates issued by `issuer`; empty when `base` is empty.
std::string crl_url(const std::string& base, const X509_NAME* issuer);

// The URIs of a certificate's CRL distribution points, in order (none: an empty list).
std::vector<std::string> crl_distribution_urls(X509* cert);

// The DER encoding, which CRL distribution points serve (RFC 5280 §4.2.1.13).
std::string crl_der(X509_CRL* crl);

}  // namespace gatehouse::tls
