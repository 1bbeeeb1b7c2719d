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

}  // namespace gatehouse::tls
