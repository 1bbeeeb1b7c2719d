// The crypto floor: what the public-key operations of one server-side handshake cost alone, with
// the same BoringSSL Gatehouse links. compare.sh prints it as a row under the servers, so the
// table shows how far above the limit each of them is.
//
// A full TLS 1.3 (or ECDHE TLS 1.2) mTLS handshake with a client chain of leaf and intermediate
// under our root costs the server: one signature (CertificateVerify / ServerKeyExchange), three
// ECDSA verifications (the client's CertificateVerify, the leaf's signature by the intermediate,
// the intermediate's by the root) and one X25519 exchange (a key pair and a shared secret).
// A resumed TLS 1.3 handshake (psk_dhe_ke) costs the X25519 exchange only. Forwarding a GiB each
// way costs opening 1 GiB of AES-128-GCM records from one side and sealing 1 GiB to the other.
#include <benchmark/benchmark.h>
#include <openssl/aead.h>
#include <openssl/bn.h>
#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace {

using Digest = std::array<uint8_t, SHA256_DIGEST_LENGTH>;

Digest digest_of(const char* text) {
  Digest d{};
  SHA256(reinterpret_cast<const uint8_t*>(text), 16, d.data());
  return d;
}

struct EcdsaKey {
  bssl::UniquePtr<EC_KEY> key{EC_KEY_new_by_curve_name(NID_X9_62_prime256v1)};
  EcdsaKey() {
    if (!key || !EC_KEY_generate_key(key.get())) throw std::runtime_error("P-256 key generation failed");
  }
};

struct RsaKey {
  bssl::UniquePtr<RSA> key{RSA_new()};
  RsaKey() {
    bssl::UniquePtr<BIGNUM> e(BN_new());
    if (!key || !e || !BN_set_word(e.get(), RSA_F4) || !RSA_generate_key_ex(key.get(), 2048, e.get(), nullptr))
      throw std::runtime_error("RSA-2048 key generation failed");
  }
};

const Digest kTranscript = digest_of("handshake-hash..");

void ecdsa_sign(const EcdsaKey& k) {
  uint8_t sig[80];
  unsigned len = sizeof sig;
  if (!ECDSA_sign(0, kTranscript.data(), kTranscript.size(), sig, &len, k.key.get()))
    throw std::runtime_error("ECDSA_sign failed");
  benchmark::DoNotOptimize(sig);
}

void rsa_pss_sign(const RsaKey& k) {
  uint8_t sig[256];
  size_t len = 0;
  if (!RSA_sign_pss_mgf1(k.key.get(), &len, sig, sizeof sig, kTranscript.data(), kTranscript.size(), EVP_sha256(),
                         EVP_sha256(), -1))
    throw std::runtime_error("RSA_sign_pss_mgf1 failed");
  benchmark::DoNotOptimize(sig);
}

struct Signed {
  EcdsaKey signer;
  std::array<uint8_t, 80> sig{};
  unsigned len = sig.size();
  Signed() { ECDSA_sign(0, kTranscript.data(), kTranscript.size(), sig.data(), &len, signer.key.get()); }
  void verify() const {
    if (ECDSA_verify(0, kTranscript.data(), kTranscript.size(), sig.data(), len, signer.key.get()) != 1)
      throw std::runtime_error("ECDSA_verify failed");
  }
};

void CryptoFloor_EcdsaP256Sign(benchmark::State& state) {
  EcdsaKey k;
  for ([[maybe_unused]] auto _ : state) ecdsa_sign(k);
}
BENCHMARK(CryptoFloor_EcdsaP256Sign);

void CryptoFloor_EcdsaP256Verify(benchmark::State& state) {
  Signed s;
  for ([[maybe_unused]] auto _ : state) s.verify();
}
BENCHMARK(CryptoFloor_EcdsaP256Verify);

void CryptoFloor_Rsa2048Sign(benchmark::State& state) {
  RsaKey k;
  for ([[maybe_unused]] auto _ : state) rsa_pss_sign(k);
}
BENCHMARK(CryptoFloor_Rsa2048Sign);

void server_exchange(const uint8_t* peer_pub) {
  uint8_t pub[32], priv[32], secret[32];
  X25519_keypair(pub, priv);
  if (!X25519(secret, priv, peer_pub)) throw std::runtime_error("X25519 failed");
  benchmark::DoNotOptimize(secret);
}

// One server-side full handshake's public-key work, `sign` being the server's signature.
template <typename Key>
void full_handshake(benchmark::State& state, void (*sign)(const Key&)) {
  Key server;
  Signed client, leaf, intermediate;
  uint8_t peer_pub[32], peer_priv[32];
  X25519_keypair(peer_pub, peer_priv);
  for ([[maybe_unused]] auto _ : state) {
    sign(server);
    client.verify();
    leaf.verify();
    intermediate.verify();
    server_exchange(peer_pub);
  }
}

void CryptoFloor_FullHandshakeEcdsa(benchmark::State& state) { full_handshake<EcdsaKey>(state, ecdsa_sign); }
BENCHMARK(CryptoFloor_FullHandshakeEcdsa);

void CryptoFloor_FullHandshakeRsa(benchmark::State& state) { full_handshake<RsaKey>(state, rsa_pss_sign); }
BENCHMARK(CryptoFloor_FullHandshakeRsa);

// One server-side X25519 key pair and shared secret (the client's share made outside the timing).
void CryptoFloor_ResumedHandshake(benchmark::State& state) {
  uint8_t peer_pub[32], peer_priv[32];
  X25519_keypair(peer_pub, peer_priv);
  for ([[maybe_unused]] auto _ : state) server_exchange(peer_pub);
}
BENCHMARK(CryptoFloor_ResumedHandshake);

// Seal and open one 16 KiB TLS record with AES-128-GCM; reported as bytes per second each way.
void CryptoFloor_AesGcmRecord(benchmark::State& state) {
  const EVP_AEAD* aead = EVP_aead_aes_128_gcm();
  std::array<uint8_t, 16> key{};
  bssl::ScopedEVP_AEAD_CTX ctx;
  if (!EVP_AEAD_CTX_init(ctx.get(), aead, key.data(), key.size(), EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr))
    return state.SkipWithError("EVP_AEAD_CTX_init failed");
  std::vector<uint8_t> plain(16384, 'x'), sealed(16384 + 16), opened(16384);
  std::array<uint8_t, 12> nonce{};
  for ([[maybe_unused]] auto _ : state) {
    size_t len = 0, out = 0;
    EVP_AEAD_CTX_seal(ctx.get(), sealed.data(), &len, sealed.size(), nonce.data(), nonce.size(), plain.data(),
                      plain.size(), nullptr, 0);
    if (!EVP_AEAD_CTX_open(ctx.get(), opened.data(), &out, opened.size(), nonce.data(), nonce.size(), sealed.data(),
                           len, nullptr, 0))
      return state.SkipWithError("EVP_AEAD_CTX_open failed");
    benchmark::DoNotOptimize(opened.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 16384);
}
BENCHMARK(CryptoFloor_AesGcmRecord);

}  // namespace
