// The DER encoding of a certificate, a name or a public key, checked. i2d_* returns a negative
// length (and no buffer) when it fails; that must never become a length, a CRYPTO_BUFFER or a
// digest input. tls/ encodes through these functions, never with raw i2d_* / OPENSSL_free pairs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "tls/bssl.hpp"

namespace gatehouse::tls {

// The encoding in the buffer BoringSSL allocated (freed with OPENSSL_free): no copy, for what
// only hashes it on the handshake path.
struct DerBytes {
  bssl::UniquePtr<uint8_t> data;
  size_t size = 0;
};
std::optional<DerBytes> der_bytes_of(const X509* cert);
std::optional<DerBytes> der_bytes_of(const X509_PUBKEY* key);

// nullopt when the object cannot be encoded (or is null).
std::optional<std::string> der_of(const X509* cert);
std::optional<std::string> der_of(const X509_NAME* name);

// The same bytes in a CRYPTO_BUFFER, as BoringSSL's credential and CA-list calls take them;
// null when encoding (or the allocation) failed.
bssl::UniquePtr<CRYPTO_BUFFER> der_buffer_of(const X509* cert);
bssl::UniquePtr<CRYPTO_BUFFER> der_buffer_of(const X509_NAME* name);

}  // namespace gatehouse::tls
