// A worker thread's memory of the client certificates it verified in full, so that the next
// handshake with the same certificate (a service reconnecting, a tester's next connection, a
// resumed session) is checked against today's dates, CRLs and routes without parsing certificates
// or verifying the chain's signatures again: the leaf's bytes are identical (SHA-256), so the
// path that was verified to our root still holds; the handshake itself still proves the client
// holds the key (CertificateVerify). Keyed by the listener context (a reload makes new contexts,
// so nothing crosses trust configurations). One map per thread: no lock. Bounded: emptied when
// full.
#pragma once

#include <cstdint>
#include <string>

#include "tls/bssl.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/identity.hpp"

namespace gatehouse::tls {

struct VerifiedEntry {
  VerifiedChain chain;
  PeerIdentity identity;
};

class VerifiedCache {
 public:
  // Entries per thread ([server] verified_cache); 0 verifies every certificate in full. Set
  // before the workers start.
  static void set_capacity(std::size_t entries);
  static const VerifiedEntry* find(std::uint64_t context, const std::string& certificate_digest);
  static void store(std::uint64_t context, const std::string& certificate_digest, VerifiedEntry entry);
};

// SHA-256 of the DER of the peer's certificate (the one stored in its session); "" when none.
std::string peer_certificate_digest(const SSL* ssl);

}  // namespace gatehouse::tls
