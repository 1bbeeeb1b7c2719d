// A worker thread's memory of the client chains it verified in full, so that the next handshake
// that presents the same chain (a service reconnecting, a tester's next connection, a resumed
// session) is checked against today's dates, CRLs and routes without parsing certificates or
// verifying the chain's signatures again; the handshake itself still proves the client holds the
// key (CertificateVerify).
//
// Keyed by the listener context (a reload makes new contexts, so nothing crosses trust
// configurations) and by every certificate the client sent, in order: that is the whole input of
// the verification, so an entry only ever answers a handshake whose full verification would
// reach the same verdict and build the same path. A leaf alone, or with other intermediates,
// is verified in full: the outcome and the forwarded chain never depend on what came before.
// One map per thread: no lock. Bounded: when full, each store forgets the oldest entry.
#pragma once

#include <cstdint>
#include <string>

#include "tls/bssl.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/identity.hpp"

namespace gatehouse::tls {

struct VerifiedEntry {
  VerifiedChain chain;  // with the verified path (path_der) the identity headers forward
  PeerIdentity identity;
};

class VerifiedCache {
 public:
  // Empties the calling thread's cache and bounds it to `limit` entries ([server] verified_cache;
  // 16384 until set); 0 verifies every certificate in full. Each worker sets its own when its
  // thread starts, so servers in one process never share it; the hot path reads a thread_local.
  // Also sets the thread's SignatureMemo (remembered intermediates), so 0 turns that off too.
  static void set_thread_capacity(std::size_t limit);
  static const VerifiedEntry* find(std::uint64_t context, const std::string& chain_digest);
  // Entries with equal paths share one copy of it (clients of one intermediate CA).
  static void store(std::uint64_t context, const std::string& chain_digest, VerifiedEntry entry);
};

// SHA-256 over every certificate the peer sent (the ones stored in its session), leaf first,
// each with its length; "" when none.
std::string peer_chain_digest(const SSL* ssl);

}  // namespace gatehouse::tls
