// RFC 5280 rules that BoringSSL's verifier does not enforce, applied to a chain it accepted:
// extra strictness on top of BoringSSL, never a replacement for it. Each rule here closes false
// accepts found by the x509-limbo conformance suite (tests/README.md).
#pragma once

#include "tls/bssl.hpp"
#include "tls/chain_verifier.hpp"

namespace gatehouse::tls {

// `chain` as BoringSSL built it: the certificate first, its trust anchor last. `crls` are the
// CRLs in use (each must carry a CRL number).
VerifyOutcome strict_checks(STACK_OF(X509) * chain, const CrlList& crls);

// RFC 1034 preferred name syntax (letters, digits, hyphens; a leading "*." label allowed).
bool valid_dns_name(const std::string& name);

}  // namespace gatehouse::tls
