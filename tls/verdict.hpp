// The one decision about a client, and the facts of its TLS session: what the handshake hands
// to the connection. Verification and authorization decide inside BoringSSL's callbacks; the
// connection only reads this, never BoringSSL or its error queue.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/reason.hpp"
#include "tls/identity.hpp"

namespace gatehouse::tls {

struct ServerCredential;

struct Verdict {
  Reason reason = Reason::protocol_error;  // ok: verified, and admitted by a route
  std::string detail;                      // plain words for a refusal
  int failed_depth = -1;                   // the certificate that failed (0: the client's own)
  std::string failed_issuer;
  // The certificate the client presented, parsed (also when it did not verify: a refusal page
  // tells its issuer and dates); trusted only when chain_verified.
  std::optional<PeerIdentity> presented;
  bool chain_verified = false;
  // With chain_verified: the verified path between the client certificate and the anchor (both
  // excluded), DER, whether the verified cache answered or the chain was verified in full.
  std::shared_ptr<const std::vector<std::string>> chain_der;
  bool authorized = false;  // a route admitted the identity
  int route = -1;           // the route the SNI and the identity chose; -1: none
  std::string rule;         // what decided, for the log

  bool allowed() const { return reason == Reason::ok; }
  const PeerIdentity* identity() const { return chain_verified && presented ? &*presented : nullptr; }
};

// What the connection and the upstream may be told about the TLS session.
struct SessionFacts {
  bool completed = false;  // the handshake finished (a refused client may still have a session
                           // with verify = "optional")
  std::string sni;
  std::string version;  // "TLSv1.3"
  bool tls13 = false;
  std::string cipher;          // IANA name, "TLS_AES_128_GCM_SHA256"
  std::string cipher_openssl;  // OpenSSL's name (PROXY v2's SSL_CIPHER TLV, as HAProxy sends)
  bool resumed = false;
  std::string alpn;
  std::string leaf_der;                          // the client certificate, DER; empty when none
  const ServerCredential* credential = nullptr;  // our certificate chosen for this client
};

}  // namespace gatehouse::tls
