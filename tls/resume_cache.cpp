#include "tls/resume_cache.hpp"

#include <openssl/sha.h>

#include <cstring>
#include <unordered_map>

namespace gatehouse::tls {
namespace {

std::string key_of(std::uint64_t context, const std::string& digest) {
  std::string key(sizeof context, '\0');
  std::memcpy(key.data(), &context, sizeof context);
  return key + digest;
}

std::unordered_map<std::string, ResumeEntry>& entries() {
  thread_local std::unordered_map<std::string, ResumeEntry> map;
  return map;
}

}  // namespace

const ResumeEntry* ResumeCache::find(std::uint64_t context, const std::string& certificate_digest) {
  if (certificate_digest.empty()) return nullptr;
  auto& map = entries();
  auto it = map.find(key_of(context, certificate_digest));
  return it == map.end() ? nullptr : &it->second;
}

void ResumeCache::store(std::uint64_t context, const std::string& certificate_digest, ResumeEntry entry) {
  if (certificate_digest.empty()) return;
  auto& map = entries();
  if (map.size() >= kMaxEntries) map.clear();  // crude but bounded; the next handshakes refill it
  map.insert_or_assign(key_of(context, certificate_digest), std::move(entry));
}

std::string peer_certificate_digest(const SSL* ssl) {
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (!certs || sk_CRYPTO_BUFFER_num(certs) == 0) return "";
  const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(certs, 0);
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf), reinterpret_cast<uint8_t*>(digest.data()));
  return digest;
}

}  // namespace gatehouse::tls
