#include "tls/verified_cache.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <unordered_map>

#include "tls/signature_memo.hpp"

namespace gatehouse::tls {
namespace {

using Path = std::shared_ptr<const std::vector<std::string>>;

std::string key_of(std::uint64_t context, const std::string& digest) {
  std::string key(sizeof context, '\0');
  std::memcpy(key.data(), &context, sizeof context);
  return key + digest;
}

constexpr std::size_t kBucketsUpFront = 65536;  // 512 KiB of buckets per worker at most

// Per thread like the maps: a worker's setting, not the process's.
thread_local std::size_t capacity = 16384;

std::unordered_map<std::string, VerifiedEntry>& entries() {
  thread_local std::unordered_map<std::string, VerifiedEntry> map;
  return map;
}

// The entries' keys, oldest first: a full cache forgets its oldest entry on each store, never all
// of them at once (freeing 16,384 entries in one go stalled the worker's handshakes for 120 ms).
// Each points at its key inside the map, whose nodes never move (a rehash relinks them).
std::deque<const std::string*>& oldest_first() {
  thread_local std::deque<const std::string*> keys;
  return keys;
}

// Paths by their content: thousands of leaves under one intermediate keep one copy of it.
std::unordered_map<std::string, Path>& paths() {
  thread_local std::unordered_map<std::string, Path> map;
  return map;
}

// Feeds `bytes` to `sha` after its length, so that no two lists of certificates hash alike.
void add_framed(SHA256_CTX& sha, const uint8_t* bytes, size_t len) {
  uint8_t framed[8];
  for (int i = 0; i < 8; ++i) framed[i] = static_cast<uint8_t>(static_cast<std::uint64_t>(len) >> (56 - 8 * i));
  SHA256_Update(&sha, framed, sizeof framed);
  SHA256_Update(&sha, bytes, len);
}

std::string finish(SHA256_CTX& sha) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256_Final(reinterpret_cast<uint8_t*>(digest.data()), &sha);
  return digest;
}

Path shared_path(Path path) {
  if (!path) return path;
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (const auto& der : *path) add_framed(sha, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  return paths().try_emplace(finish(sha), path).first->second;
}

}  // namespace

const VerifiedEntry* VerifiedCache::find(std::uint64_t context, const std::string& chain_digest) {
  if (chain_digest.empty()) return nullptr;
  auto& map = entries();
  auto it = map.find(key_of(context, chain_digest));
  return it == map.end() ? nullptr : &it->second;
}

void VerifiedCache::set_thread_capacity(std::size_t limit) {
  capacity = limit;
  entries().clear();  // a fresh cache: nothing from whatever this thread served before
  // Buckets for a full cache up front (within reason): growing rehashes every entry at once,
  // which held a handshake 1.6 ms at 5,000 entries and 3.2 ms at 10,000.
  entries().reserve(std::min<std::size_t>(limit, kBucketsUpFront));
  oldest_first().clear();
  paths().clear();
  SignatureMemo::set_thread_capacity(limit);  // 0 turns both off: every certificate verified in full
}

void VerifiedCache::store(std::uint64_t context, const std::string& chain_digest, VerifiedEntry entry) {
  const std::size_t limit = capacity;
  if (chain_digest.empty() || limit == 0) return;
  // Only verified paths come here (a CA's few intermediates); bounded all the same. Entries and
  // connections still holding a path keep their own reference.
  if (paths().size() >= limit) paths().clear();
  entry.chain.path_der = shared_path(std::move(entry.chain.path_der));
  auto& map = entries();
  std::string key = key_of(context, chain_digest);
  if (auto known = map.find(key); known != map.end()) {  // verified anew: keeps its place in line
    known->second = std::move(entry);
    return;
  }
  auto& keys = oldest_first();  // one per entry, in the order they came
  while (map.size() >= limit && !keys.empty()) {
    map.erase(map.find(*keys.front()));  // found first: erase(key) must not read a freed key
    keys.pop_front();
  }
  keys.push_back(&map.emplace(std::move(key), std::move(entry)).first->first);
}

std::string peer_chain_digest(const SSL* ssl) {
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (!certs || sk_CRYPTO_BUFFER_num(certs) == 0) return "";
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(certs); ++i) {
    const CRYPTO_BUFFER* cert = sk_CRYPTO_BUFFER_value(certs, i);
    add_framed(sha, CRYPTO_BUFFER_data(cert), CRYPTO_BUFFER_len(cert));
  }
  return finish(sha);
}

}  // namespace gatehouse::tls
