// Verifies a certificate chain against given anchors only, and explains a failure with one
// reason keyword plus plain words. The proxy's handshake and `gatehouse verify` share it, so
// the tool that explains a verdict can never reach a different one.
//
// BoringSSL does the path building and RFC 5280 processing; on top, checks it skips are added
// (see strict_checks.hpp): stricter, never instead.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/reason.hpp"
#include "tls/bssl.hpp"
#include "tls/signature_memo.hpp"

namespace gatehouse::tls {

struct VerifyOutcome {
  Reason reason = Reason::ok;
  std::string detail;  // plain words for the log: what failed, on which certificate
  int depth = -1;      // position in the chain of the certificate that failed (0 = client cert)
  std::string issuer;  // issuer of the failing certificate, for the log
};

struct VerifyOptions {
  enum class Purpose { client, server } purpose = Purpose::client;
  int max_depth = 2;               // intermediates allowed between the certificate and its root
  std::optional<std::int64_t> at;  // Unix time to verify at; now when unset
  std::string host;                // with purpose server: the name the certificate must carry
  bool accept_stale_crl = false;   // crl_stale = "warn": a CRL past its next update still counts
};

using CrlList = std::vector<bssl::UniquePtr<X509_CRL>>;

// What a verified chain needs to be checked again later (a resumed session) without parsing
// certificates or verifying signatures: each certificate's issuer and serial, for the CRLs,
// and the dates within which all of them are valid. Also the path itself, for the identity
// headers, so a handshake answered from VerifiedCache forwards what a full verification would.
struct VerifiedChain {
  std::vector<std::pair<bssl::UniquePtr<X509_NAME>, bssl::UniquePtr<ASN1_INTEGER>>> certificates;
  std::int64_t valid_from = 0;
  std::int64_t valid_until = 0;
  // DER of the certificates between the client certificate and the trust anchor, both excluded,
  // the leaf's issuer first: the path that was built, never other certificates the peer sent.
  // Shared and immutable: one copy serves every cache entry and connection with that path.
  std::shared_ptr<const std::vector<std::string>> path_der;
};

class ChainVerifier {
 public:
  // `anchors`: the only trust anchors. `intermediates`: certificates the peer may leave out.
  // `crls`: checked for every certificate whose issuer published one.
  ChainVerifier(const CertChain& anchors, const CertChain& intermediates, const CrlList& crls, VerifyOptions options);

  // `sent` is what the peer sent after its own certificate (its intermediates). With `facts`,
  // a chain that verified is described there for still_valid().
  VerifyOutcome verify(X509* leaf, const CertChain& sent, VerifiedChain* facts = nullptr) const;
  // The same verification with this thread's SignatureMemo: `buffers` (the client's certificates,
  // its own first) parsed, its intermediates as parsed before, and signatures checked before not
  // checked again. The client certificate when the chain verified, with `facts`; null when it did
  // not or the memory gave up, and then only a full verify() decides and explains: this never
  // refuses anyone, so a refusal is always the full verification's.
  bssl::UniquePtr<X509> verify_remembered(const STACK_OF(CRYPTO_BUFFER) * buffers, VerifiedChain& facts) const;
  // True when a chain that verified earlier is good now: within its dates, listed by no CRL,
  // and every CRL of its issuers current. False means "verify it in full", not "refuse".
  bool still_valid(const VerifiedChain& chain, std::int64_t now) const;

  const CertChain& anchors() const { return anchors_; }
  const CrlList& crls() const { return crls_; }

 private:
  // `run` non-null: signatures and dates through SignatureMemo (see verify_remembered).
  VerifyOutcome check(X509* leaf, const CertChain& sent, VerifiedChain* facts, MemoRun* run) const;
  VerifyOutcome explain(X509_STORE_CTX* ctx, X509* leaf) const;
  // False when a certificate of the path cannot be encoded: the verification then fails.
  static bool describe_chain(const STACK_OF(X509) * chain, VerifiedChain& facts);
  bool shares_anchor_organization(X509* cert) const;
  // A CA this verifier trusts (root or configured intermediate) has exactly `name` as subject.
  bool trusts_a_ca_named(const X509_NAME* name) const;
  std::string revocation_words(X509* cert) const;  // " on DATE (reason)"
  std::string anchor_names() const;                // "'CN=Root A', 'CN=Root B'"

  bssl::UniquePtr<X509_STORE> store_;
  bssl::UniquePtr<X509_STORE> memo_store_;  // the same, with SignatureMemo's signature check
  CertChain anchors_;
  CertChain intermediates_;
  CrlList crls_;
  VerifyOptions options_;
};

}  // namespace gatehouse::tls
