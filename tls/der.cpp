#include "tls/der.hpp"

namespace gatehouse::tls {
namespace {

// `encode` is an i2d_* function. BoringSSL's i2d_* take non-const objects but do not change them.
template <typename T>
std::optional<DerBytes> bytes_with(int (*encode)(T*, uint8_t**), const T* object) {
  if (!object) return std::nullopt;
  uint8_t* der = nullptr;
  int len = encode(const_cast<T*>(object), &der);
  bssl::UniquePtr<uint8_t> owned(der);  // OPENSSL_free, whatever happens next
  if (len <= 0 || !der) {
    ERR_clear_error();
    return std::nullopt;
  }
  return DerBytes{std::move(owned), static_cast<size_t>(len)};
}

template <typename T>
std::optional<std::string> encode_with(int (*encode)(T*, uint8_t**), const T* object) {
  auto bytes = bytes_with(encode, object);
  if (!bytes) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(bytes->data.get()), bytes->size);
}

bssl::UniquePtr<CRYPTO_BUFFER> buffer_of(const std::optional<DerBytes>& der) {
  if (!der) return nullptr;
  return bssl::UniquePtr<CRYPTO_BUFFER>(CRYPTO_BUFFER_new(der->data.get(), der->size, nullptr));
}

}  // namespace

std::optional<DerBytes> der_bytes_of(const X509* cert) { return bytes_with(&i2d_X509, cert); }
std::optional<DerBytes> der_bytes_of(const X509_PUBKEY* key) { return bytes_with(&i2d_X509_PUBKEY, key); }

std::optional<std::string> der_of(const X509* cert) { return encode_with(&i2d_X509, cert); }
std::optional<std::string> der_of(const X509_NAME* name) { return encode_with(&i2d_X509_NAME, name); }

bssl::UniquePtr<CRYPTO_BUFFER> der_buffer_of(const X509* cert) { return buffer_of(bytes_with(&i2d_X509, cert)); }
bssl::UniquePtr<CRYPTO_BUFFER> der_buffer_of(const X509_NAME* name) {
  return buffer_of(bytes_with(&i2d_X509_NAME, name));
}

}  // namespace gatehouse::tls
