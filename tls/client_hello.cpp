#include "tls/client_hello.hpp"

#include "tls/identity.hpp"

#include <algorithm>

namespace gatehouse::tls {
namespace {

constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtSignatureAlgorithms = 13;
constexpr uint16_t kExtSupportedVersions = 43;

bool has_extension(const SSL_CLIENT_HELLO* hello, uint16_t type, CBS* out) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_early_callback_ctx_extension_get(hello, type, &data, &len)) return false;
  CBS_init(out, data, len);
  return true;
}

}  // namespace

ClientHelloFacts read_client_hello(const SSL_CLIENT_HELLO* hello) {
  ClientHelloFacts facts;
  CBS ext, list;
  if (has_extension(hello, kExtServerName, &ext) && CBS_get_u16_length_prefixed(&ext, &list)) {
    uint8_t type = 0;
    CBS name;
    while (CBS_get_u8(&list, &type) && CBS_get_u16_length_prefixed(&list, &name)) {
      if (type == 0) {
        facts.server_name = ascii_lower(std::string(reinterpret_cast<const char*>(CBS_data(&name)), CBS_len(&name)));
        break;
      }
    }
  }
  if (has_extension(hello, kExtSupportedVersions, &ext) && CBS_get_u8_length_prefixed(&ext, &list)) {
    uint16_t v = 0;
    while (CBS_get_u16(&list, &v)) facts.offers_tls13 |= v == TLS1_3_VERSION;
  }
  if (has_extension(hello, kExtSignatureAlgorithms, &ext) && CBS_get_u16_length_prefixed(&ext, &list)) {
    facts.sent_sigalgs = true;
    uint16_t alg = 0;
    while (CBS_get_u16(&list, &alg)) {
      facts.accepts_ecdsa |= alg == SSL_SIGN_ECDSA_SECP256R1_SHA256 || alg == SSL_SIGN_ECDSA_SECP384R1_SHA384 ||
                             alg == SSL_SIGN_ECDSA_SECP521R1_SHA512;
    }
  }
  CBS suites;
  CBS_init(&suites, hello->cipher_suites, hello->cipher_suites_len);
  uint16_t suite = 0;
  while (CBS_get_u16(&suites, &suite)) {
    const SSL_CIPHER* cipher = SSL_get_cipher_by_value(suite);
    facts.offers_ecdsa_suite |= cipher && SSL_CIPHER_get_auth_nid(cipher) == NID_auth_ecdsa;
  }
  return facts;
}

bool name_matches(const std::string& pattern, const std::string& name) {
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    auto dot = name.find('.');
    return dot != std::string::npos && dot > 0 && name.compare(dot, std::string::npos, pattern, 1) == 0;
  }
  return pattern == name;
}

}  // namespace gatehouse::tls
