// Session resumption that cannot bypass today's trust: a session-ID context digested from the
// client CAs and verify settings (a session from another trust configuration is never resumed),
// and shared ticket keys so that every instance behind a load balancer resumes the others'
// sessions. The per-connection re-check of CRL and policy is ServerContext::recheck_resumed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "conf/diagnostics.hpp"
#include "conf/settings.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::tls {

// One session-ticket key in the 80-byte format nginx and Envoy use: name, HMAC key, AES key.
struct TicketKey {
  uint8_t name[16];
  uint8_t hmac[32];
  uint8_t aes[32];
};

// SHA-256 over every anchor and intermediate (all of them, not only the first: Envoy's lesson)
// and the verify settings. CRLs and routes are left out on purpose: they are checked again on
// every resumed connection, and a CRL republished daily would otherwise end every session daily.
std::vector<uint8_t> session_context(const CertChain& anchors, const CertChain& intermediates,
                                     const conf::TlsSettings& tls);

// Reads a ticket key file: one or more 80-byte keys, the first one encrypts. Never logs a key.
std::vector<TicketKey> load_ticket_keys(const conf::FileRef& ref, const std::string& file, conf::Diagnostics& problems);

}  // namespace gatehouse::tls
