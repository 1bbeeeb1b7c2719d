// BoringSSL headers and the small helpers every tls/ file shares. No logic.
#pragma once

#include <openssl/base.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#ifndef OPENSSL_IS_BORINGSSL
#error "Gatehouse is built against BoringSSL only"
#endif

namespace gatehouse::tls {

// The BoringSSL error queue as one line, and the queue cleared.
inline std::string drain_errors() {
  std::string out;
  while (uint32_t code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

using CertChain = std::vector<bssl::UniquePtr<X509>>;

// TLS 1.2 suites we speak, as server and as client: ECDHE only, AEAD only. (TLS 1.3 suites are all
// AEAD and not configurable.)
inline constexpr const char* kAeadTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace gatehouse::tls
