// A worker thread's memory of the clients it verified in full handshakes, so that their resumed
// sessions are checked again against today's dates, CRLs and routes without parsing certificates
// or verifying signatures (the cost of a resumption stays near its key exchange). Keyed by the
// listener context (a reload makes new contexts, so nothing crosses trust configurations) and the
// SHA-256 of the client certificate. One map per thread: no lock. Bounded: emptied when full.
#pragma once

#include <cstdint>
#include <string>

#include "tls/bssl.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/identity.hpp"

namespace gatehouse::tls {

struct ResumeEntry {
  VerifiedChain chain;
  PeerIdentity identity;
};

class ResumeCache {
 public:
  static constexpr std::size_t kMaxEntries = 16384;
  static const ResumeEntry* find(std::uint64_t context, const std::string& certificate_digest);
  static void store(std::uint64_t context, const std::string& certificate_digest, ResumeEntry entry);
};

// SHA-256 of the DER of the peer's certificate (the one stored in its session); "" when none.
std::string peer_certificate_digest(const SSL* ssl);

}  // namespace gatehouse::tls
