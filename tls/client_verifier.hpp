// Verifies a client's certificate chain against the listener's private root(s) only, and
// explains a failure with one reason keyword plus plain words.
#pragma once

#include <string>

#include "tls/bssl.hpp"
#include "tls/reason.hpp"

namespace gatehouse::tls {

struct VerifyOutcome {
  Reason reason = Reason::ok;
  std::string detail;  // plain words for the log: what failed, on which certificate
  int depth = -1;      // position in the chain of the certificate that failed (0 = client cert)
  std::string issuer;  // issuer of the failing certificate, for the log
};

class ClientVerifier {
 public:
  // `anchors`: the only trust anchors. `intermediates`: certificates clients may leave out.
  // `verify_depth`: intermediates allowed between the client certificate and its root.
  ClientVerifier(const CertChain& anchors, const CertChain& intermediates, int verify_depth);

  // `sent` is what the client sent after its own certificate (its intermediates).
  VerifyOutcome verify(X509* leaf, const CertChain& sent) const;

  const CertChain& anchors() const { return anchors_; }

 private:
  VerifyOutcome explain(X509_STORE_CTX* ctx, X509* leaf) const;
  bool shares_anchor_organization(X509* cert) const;

  bssl::UniquePtr<X509_STORE> store_;
  CertChain anchors_;
  CertChain intermediates_;
  int verify_depth_;
};

}  // namespace gatehouse::tls
