// A worker thread's memory of what in a chain verification depends on its input bytes alone:
// parsing a certificate a client sent after its own (the intermediates, kept by their exact DER),
// checking a signature on such a certificate with its issuer's key, and a CRL's signature with
// its issuer's (each kept as the pair of objects whose check passed). With it a new client
// certificate under a known intermediate costs its own parse and its own signature, not the
// intermediate's again, nor the CRLs'.
//
// Nothing else is remembered: BoringSSL still builds the path and checks every certificate's
// dates, extensions, purpose, name constraints and CRLs on each handshake, and so do the strict
// checks. What the memory knows is a pure function of bytes (a DER parses the same way, a
// signature verifies under a key or not), so it cannot make an outcome depend on what came
// before. Only chains that verified add to it. Any doubt (a signature not remembered that fails,
// a date, an unexpected flag) gives up, and the caller verifies in full without it.
//
// Per thread, no lock; bounded (emptied when full); off when [server] verified_cache is 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tls/bssl.hpp"

namespace gatehouse::tls {

// One verification's use of the memory: its time, the signatures it checked (kept only if the
// whole chain passes) and whether it gave up.
struct MemoRun {
  std::optional<std::int64_t> at;                // as VerifyOptions::at: now when unset
  std::vector<std::pair<X509*, X509*>> checked;  // (certificate, issuer) whose signature passed
  std::vector<std::pair<X509_CRL*, X509*>> crls_checked;  // (CRL, issuer) likewise
  bool gave_up = false;
};

class SignatureMemo {
 public:
  // Empties the calling thread's memory and bounds it (0: off). VerifiedCache::set_thread_capacity
  // calls it, so [server] verified_cache governs both.
  static void set_thread_capacity(std::size_t limit);
  static bool enabled();
  // `buffer` parsed: the object parsed before from these exact bytes when there is one, else a
  // new one (remembered only by keep()). Null when it does not parse.
  static bssl::UniquePtr<X509> parse(const CRYPTO_BUFFER* buffer);
  // After a chain verified with `run`: remembers those of `sent` (parsed by parse()) on the
  // verified path, and the signatures the run checked on certificates other than the client's.
  static void keep(const STACK_OF(CRYPTO_BUFFER) * buffers, const CertChain& sent, const MemoRun& run);
  // What der_of(cert) gave the first time, for a certificate this thread remembers; else nullopt.
  static std::optional<std::string> encoded(const X509* cert);
  // Makes `store` check signatures and dates, and CRLs, through the memory instead of BoringSSL's
  // own internal_verify and check_crl: the same checks, at least as strict; a failure or anything
  // unusual gives up. (This BoringSSL has no per-context hook: a verifier keeps a second store.)
  static void install(X509_STORE* store);
  // Gives a verification on such a store its run (which outlives `ctx`); without one it gives up.
  static bool attach(X509_STORE_CTX* ctx, MemoRun* run);
  // For tests: how many intermediates and signatures (certificates' and CRLs') it remembers.
  static std::pair<std::size_t, std::size_t> size();
};

}  // namespace gatehouse::tls
