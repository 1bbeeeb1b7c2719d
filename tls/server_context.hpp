// One listener's TLS server side: the SSL_CTX (versions, AEAD ciphers, groups), its server
// certificates chosen per connection by SNI and key type, and client-certificate verification
// in the handshake. Immutable once built; shared by the connections of a snapshot.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/diagnostics.hpp"
#include "conf/settings.hpp"
#include "tls/alpn.hpp"
#include "tls/authorizer.hpp"
#include "tls/bssl.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/identity.hpp"
#include "tls/session_resumption.hpp"
#include "tls/ticket_ring.hpp"
#include "tls/verdict.hpp"

namespace gatehouse::tls {

// What the handshake learned about the client, filled in by our callbacks.
struct HandshakeReport {
  VerifyOutcome verify;  // reason ok while nothing failed (a policy refusal included)
  bool verify_ran = false;
  bool client_hello_read = false;        // past the ClientHello: a too-large message is the client's certificates
  std::optional<PeerIdentity> identity;  // once the chain verified
  // When the chain failed: what the client's leaf says, unverified (for the log: who was refused).
  std::optional<PeerIdentity> presented;
  // With identity: the verified path between the client certificate and the anchor (both
  // excluded), DER, the same whether VerifiedCache answered or the chain was verified in full.
  std::shared_ptr<const std::vector<std::string>> chain_der;
  Authorization authz;  // the route and the rule that decided
  // The client offered ALPN with none of ours and was refused (its first names, for the log).
  std::optional<std::vector<std::string>> alpn_refused;
};

struct ServerCredential {
  bssl::UniquePtr<EVP_PKEY> key;
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> chain;  // leaf first
  std::vector<CRYPTO_BUFFER*> chain_view;             // what SSL_set_chain_and_key takes
  std::vector<std::string> names;                     // DNS SANs (and CN when no SAN)
  bool ecdsa = false;
  std::string subject;
  std::int64_t not_after = 0;
  std::vector<std::string> uri;  // URI SANs (XFCC's By)
  std::string sig_alg;           // the certificate's signature algorithm, short name
  std::string key_alg;           // "EC256", "RSA2048"
};

// A certificate, CA or CRL a listener loaded, for /certs and certificate_not_after_seconds.
struct LoadedCertificate {
  std::string kind;             // "server", "client_ca", "client_intermediate", "crl"
  std::string subject;          // a CRL: its issuer
  std::string serial;           // empty for a CRL
  std::int64_t not_before = 0;  // a CRL: this update
  std::int64_t not_after = 0;   // a CRL: next update
};

// The words for client_cert_too_large; sent_bytes 0 when BoringSSL refused the message unread.
std::string too_large_detail(std::size_t sent_bytes, std::size_t limit);

class ServerContext {
 public:
  // Loads every file `tls` names; each problem goes to `problems` with its config place.
  // `authorizer` (kept by the caller, alive as long as this) decides on verified identities.
  // `alpn`: the protocols offered, and what a client that offers none of them gets.
  // `ring`: the listener's self-rotated ticket keys, owned with the snapshots that serve the
  // listener so they outlive reloads (see TicketKeyRing); unused with `ticket_keys`, and when
  // null this context makes its own.
  static std::unique_ptr<ServerContext> create(const conf::TlsSettings& tls, const std::string& config_file,
                                               const Authorizer* authorizer, AlpnPolicy alpn,
                                               std::shared_ptr<TicketKeyRing> ring, conf::Diagnostics& problems);
  ~ServerContext();

  // A new server-side SSL for one connection, with `report` attached for the callbacks.
  bssl::UniquePtr<SSL> new_ssl(HandshakeReport* report) const;
  static HandshakeReport* report_of(const SSL* ssl);
  static const ServerContext* of(const SSL* ssl);  // the context behind a connection

  // A resumed session skipped the verify callback: verify and authorize its stored certificates
  // against today's CRL and routes. False when the client must be refused (with verify =
  // "require" an alert is sent; with "optional" the caller answers with a page).
  bool recheck_resumed(SSL* ssl, HandshakeReport* report) const;
  // After a reload, for a connection that is open (its SSL may come from an older context): the
  // chain it presented, verified again in full against this context's CAs and CRLs and authorized
  // by its routes. The same code as the handshake's, never answered from VerifiedCache, so a
  // revoked or no longer admitted client cannot be let through by an older verdict. Nothing is
  // sent on the connection.
  Verdict reverify(SSL* ssl) const;
  // `gatehouse verify -c`: the verdict this listener would give a client that presents `chain`
  // (DER, leaf first) asking for `sni`. The handshake's own checks in its order (size, parse,
  // chain, CRLs, routes), never answered from VerifiedCache.
  Verdict judge(const std::vector<std::string>& chain_der, const std::string& sni) const;
  const std::vector<LoadedCertificate>& loaded() const { return loaded_; }
  const CrlList& crls() const { return verifier_->crls(); }  // the listener's `crl`, for /crl/
  // verify = "optional": a failed or absent certificate still completes the handshake.
  bool verify_optional() const { return verify_optional_; }
  std::size_t max_client_cert_size() const { return max_client_cert_size_; }
  const AlpnPolicy& alpn() const { return alpn_; }
  // The server certificate chosen for this connection (for PROXY v2's SIG_ALG and KEY_ALG).
  static const ServerCredential* credential_of(const SSL* ssl);

 private:
  ServerContext() = default;
  const ServerCredential* select(const SSL_CLIENT_HELLO* hello) const;
  static enum ssl_select_cert_result_t on_select_certificate(const SSL_CLIENT_HELLO* hello);
  static enum ssl_verify_result_t on_verify(SSL* ssl, uint8_t* out_alert);
  static int on_alpn(SSL* ssl, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len, void*);
  static int on_ticket_key(SSL* ssl, uint8_t* name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, int encrypt);
  bool check_peer(SSL* ssl, HandshakeReport* report, uint8_t* out_alert) const;
  // `remembered`: a handshake's check, which may use this thread's SignatureMemo (never reverify).
  bool verify_in_full(SSL* ssl, HandshakeReport* report, uint8_t* out_alert, const std::string& digest,
                      bool remembered) const;
  // The chain check for any source of certificates; `digest` non-null: remember a success in
  // VerifiedCache under it. `remembered`: SignatureMemo may admit it (never refuse it).
  bool verify_chain(const STACK_OF(CRYPTO_BUFFER) * buffers, const char* sni, HandshakeReport* report,
                    uint8_t* out_alert, const std::string* digest, bool remembered = false) const;
  // verify_chain's full verification: every certificate parsed afresh, no memory; a refusal is
  // recorded in `report`. On success `leaf` and `facts` describe the chain.
  bool verify_parsed(const STACK_OF(CRYPTO_BUFFER) * buffers, HandshakeReport* report, uint8_t* out_alert,
                     bssl::UniquePtr<X509>& leaf, VerifiedChain& facts) const;
  bool authorize(const char* sni, HandshakeReport* report, uint8_t* out_alert) const;

  bssl::UniquePtr<SSL_CTX> ctx_;
  std::vector<ServerCredential> credentials_;
  std::unique_ptr<ChainVerifier> verifier_;
  const Authorizer* authorizer_ = nullptr;
  std::vector<TicketKey> ticket_keys_;  // from ticket_keys; empty: ring_ makes and rotates them
  std::shared_ptr<TicketKeyRing> ring_;
  bool tls13_ = true;
  bool verify_optional_ = false;
  std::size_t max_client_cert_size_ = 16 * 1024;  // total DER bytes of the certificates a client sends
  std::uint64_t id_ = 0;                          // unique per context: keys the resumption cache
  std::vector<LoadedCertificate> loaded_;
  AlpnPolicy alpn_;
};

}  // namespace gatehouse::tls
