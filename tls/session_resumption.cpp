#include "tls/session_resumption.hpp"

#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "tls/der.hpp"
#include "tls/server_context.hpp"

namespace gatehouse::tls {

std::vector<uint8_t> session_context(const CertChain& anchors, const CertChain& intermediates,
                                     const conf::TlsSettings& tls) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (const auto* list : {&anchors, &intermediates}) {
    for (const auto& cert : *list) {
      auto der = der_bytes_of(cert.get());
      if (!der) {
        // A digest that left this CA out could resume sessions across a trust change. A random
        // context matches no other: resumption is lost for this configuration, never widened.
        std::vector<uint8_t> unique(SHA256_DIGEST_LENGTH);
        RAND_bytes(unique.data(), unique.size());
        return unique;
      }
      SHA256_Update(&sha, der->data.get(), der->size);
    }
    SHA256_Update(&sha, "|", 1);
  }
  std::string settings = std::to_string(tls.verify_depth) + "|" + std::to_string(static_cast<int>(tls.verify));
  SHA256_Update(&sha, settings.data(), settings.size());
  std::vector<uint8_t> out(SHA256_DIGEST_LENGTH);
  SHA256_Final(out.data(), &sha);
  return out;
}

std::vector<TicketKey> load_ticket_keys(const conf::FileRef& ref, const std::string& file,
                                        conf::Diagnostics& problems) {
  std::ifstream in(ref.path, std::ios::binary);
  if (!in) {
    problems.add(file, ref.source, "cannot read " + ref.path.string());
    return {};
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string data = buf.str();
  if (data.empty() || data.size() % sizeof(TicketKey) != 0) {
    problems.add(file, ref.source,
                 ref.path.string() + " must hold one or more 80-byte keys (" + std::to_string(data.size()) +
                     " bytes found); make one with "
                     "`head -c 80 /dev/urandom > " +
                     ref.path.filename().string() + "`");
    return {};
  }
  struct stat st {};
  // Group-readable is a way to give a service its keys (a Kubernetes fsGroup, a dedicated group);
  // readable by everyone is not.
  if (::stat(ref.path.c_str(), &st) == 0 && (st.st_mode & 007))
    problems.warn(file, ref.source, ref.path.string() + " can be read by every user; make it mode 0600 (or 0640)");
  std::vector<TicketKey> keys(data.size() / sizeof(TicketKey));
  std::memcpy(keys.data(), data.data(), data.size());
  return keys;
}

int ServerContext::on_ticket_key(SSL* ssl, uint8_t* name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac,
                                 int encrypt) {
  const ServerContext* sc = of(ssl);
  const auto& keys = sc->ticket_keys_;
  const std::int64_t now = std::time(nullptr);
  if (encrypt) {
    const TicketKey& key = keys.empty() ? sc->ring_->current(now) : keys.front();
    std::memcpy(name, key.name, sizeof key.name);
    RAND_bytes(iv, EVP_MAX_IV_LENGTH);
    return EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) &&
                   HMAC_Init_ex(hmac, key.hmac, sizeof key.hmac, EVP_sha256(), nullptr)
               ? 1
               : -1;
  }
  const TicketKey* found = nullptr;
  bool is_current = false;
  if (keys.empty()) {
    found = sc->ring_->find(name, now);
    is_current = found == &sc->ring_->current(now);
  } else {
    for (size_t i = 0; i < keys.size() && !found; ++i)
      if (std::memcmp(name, keys[i].name, sizeof keys[i].name) == 0) {
        found = &keys[i];
        is_current = i == 0;
      }
  }
  if (!found) return 0;  // unknown or retired key: a full handshake
  if (!HMAC_Init_ex(hmac, found->hmac, sizeof found->hmac, EVP_sha256(), nullptr) ||
      !EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, found->aes, iv))
    return -1;
  return is_current ? 1 : 2;  // 2: decrypts, but issue a ticket under the current key
}

}  // namespace gatehouse::tls
