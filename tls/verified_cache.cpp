#include "tls/verified_cache.hpp"

#include <openssl/sha.h>

#include <atomic>
#include <cstring>
#include <unordered_map>

namespace gatehouse::tls {
namespace {

std::string key_of(std::uint64_t context, const std::string& digest) {
  std::string key(sizeof context, '\0');
  std::memcpy(key.data(), &context, sizeof context);
  return key + digest;
}

std::atomic<std::size_t> capacity{16384};

std::unordered_map<std::string, VerifiedEntry>& entries() {
  thread_local std::unordered_map<std::string, VerifiedEntry> map;
  return map;
}

}  // namespace

const VerifiedEntry* VerifiedCache::find(std::uint64_t context, const std::string& certificate_digest) {
  if (certificate_digest.empty()) return nullptr;
  auto& map = entries();
  auto it = map.find(key_of(context, certificate_digest));
  return it == map.end() ? nullptr : &it->second;
}

void VerifiedCache::set_capacity(std::size_t entries) { capacity.store(entries, std::memory_order_relaxed); }

void VerifiedCache::store(std::uint64_t context, const std::string& certificate_digest, VerifiedEntry entry) {
  const std::size_t limit = capacity.load(std::memory_order_relaxed);
  if (certificate_digest.empty() || limit == 0) return;
  auto& map = entries();
  if (map.size() >= limit) map.clear();  // crude but bounded; the next handshakes refill it
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
