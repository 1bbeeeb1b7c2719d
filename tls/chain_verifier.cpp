#include "tls/chain_verifier.hpp"

#include "tls/strict_checks.hpp"

#include "tls/der.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls {
namespace {

std::string quoted_subject(X509* cert) { return cert ? "'" + subject_line(cert) + "'" : "the certificate"; }

std::string organization(const X509_NAME* name) {
  int i = X509_NAME_get_index_by_NID(name, NID_organizationName, -1);
  if (i < 0) return "";
  return asn1_bytes(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
}

}  // namespace

std::string ChainVerifier::anchor_names() const {
  std::string out;
  for (const auto& a : anchors_) out += (out.empty() ? "'" : ", '") + subject_line(a.get()) + "'";
  return out;
}

std::string ChainVerifier::revocation_words(X509* cert) const {
  for (const auto& crl : crls_) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_issuer_name(cert)) != 0) continue;
    X509_REVOKED* rev = nullptr;
    if (X509_CRL_get0_by_serial(crl.get(), &rev, const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(cert))) != 1)
      continue;
    std::string out = " on " + iso8601(unix_time(X509_REVOKED_get0_revocationDate(rev)));
    int crit = 0;
    bssl::UniquePtr<ASN1_ENUMERATED> code(
        static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, nullptr)));
    static const char* kNames[] = {"unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
                                   "superseded",    "cessationOfOperation", "certificateHold", "",
                                   "removeFromCRL", "privilegeWithdrawn",   "aACompromise"};
    long c = code ? ASN1_ENUMERATED_get(code.get()) : -1;
    if (c >= 0 && c <= 10 && kNames[c][0]) out += std::string(" (") + kNames[c] + ")";
    return out;
  }
  return "";
}

bool ChainVerifier::shares_anchor_organization(X509* cert) const {
  std::string wanted = organization(X509_get_issuer_name(cert));
  if (wanted.empty()) return false;
  for (const auto& a : anchors_)
    if (organization(X509_get_subject_name(a.get())) == wanted) return true;
  return false;
}

bool ChainVerifier::trusts_a_ca_named(const X509_NAME* name) const {
  for (const CertChain* cas : {&anchors_, &intermediates_})
    for (const auto& ca : *cas)
      if (X509_NAME_cmp(X509_get_subject_name(ca.get()), name) == 0) return true;
  return false;
}

ChainVerifier::ChainVerifier(const CertChain& anchors, const CertChain& intermediates, const CrlList& crls,
                             VerifyOptions options)
    : store_(X509_STORE_new()), memo_store_(X509_STORE_new()), options_(std::move(options)) {
  for (const auto& a : anchors) anchors_.emplace_back(bssl::UpRef(a));
  for (const auto& i : intermediates) intermediates_.emplace_back(bssl::UpRef(i));
  for (const auto& crl : crls) crls_.emplace_back(bssl::UpRef(crl));
  // Every configured anchor is trusted as given, even an intermediate: the operator chose it.
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;
  if (!crls.empty()) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  // Two stores alike but for how signatures are checked (a failed set-up leaves a store that
  // trusts nothing, so every verification fails closed).
  for (X509_STORE* store : {store_.get(), memo_store_.get()}) {
    if (!store) continue;
    for (const auto& a : anchors_) X509_STORE_add_cert(store, a.get());
    for (const auto& crl : crls_) X509_STORE_add_crl(store, crl.get());
    X509_STORE_set_flags(store, flags);
  }
  if (memo_store_) SignatureMemo::install(memo_store_.get());
}

namespace {
// CRLs are checked for the issuers that published one; a CA without a CRL is not an error.
int tolerate_missing_crl(int ok, X509_STORE_CTX* ctx) {
  if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) return 1;
  return ok;
}
// crl_stale = "warn": a CRL past its next update is still used (its revocations still count).
int tolerate_stale_crl(int ok, X509_STORE_CTX* ctx) {
  if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_HAS_EXPIRED) return 1;
  return tolerate_missing_crl(ok, ctx);
}

// A client certificate names at most one CN. With several, "the CN" is ambiguous: our policy,
// headers and PROXY v2 would have to pick one, and an upstream parsing the subject string could
// pick another (RFC 6125 practice takes the last, OpenSSL's lookups the first). Refusing at the
// handshake leaves no identity that two readers can see differently.
VerifyOutcome one_common_name(X509* leaf) {
  const int count = common_name_count(leaf);
  if (count <= 1) return {};
  return {Reason::several_common_names,
          "certificate " + quoted_subject(leaf) + " has " + std::to_string(count) +
              " common names (CN); a client certificate must have at most one, so that every reader agrees on "
              "who it names: issue it again with a single CN",
          0, issuer_line(leaf)};
}
}  // namespace

VerifyOutcome ChainVerifier::verify(X509* leaf, const CertChain& sent, VerifiedChain* facts) const {
  return check(leaf, sent, facts, nullptr);
}

bssl::UniquePtr<X509> ChainVerifier::verify_remembered(const STACK_OF(CRYPTO_BUFFER) * buffers,
                                                       VerifiedChain& facts) const {
  const size_t n = buffers ? sk_CRYPTO_BUFFER_num(buffers) : 0;
  if (n == 0 || !SignatureMemo::enabled()) return nullptr;
  // The client's own certificate is parsed afresh: only what it sent after it is remembered.
  bssl::UniquePtr<X509> leaf(X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(buffers, 0)));
  CertChain sent;
  bool parsed = leaf != nullptr;
  for (size_t i = 1; parsed && i < n; ++i) {
    sent.push_back(SignatureMemo::parse(sk_CRYPTO_BUFFER_value(buffers, i)));
    parsed = sent.back() != nullptr;
  }
  MemoRun run{.at = options_.at};
  if (!parsed || check(leaf.get(), sent, &facts, &run).reason != Reason::ok || run.gave_up) {
    ERR_clear_error();
    return nullptr;
  }
  SignatureMemo::keep(buffers, sent, run);
  return leaf;
}

VerifyOutcome ChainVerifier::check(X509* leaf, const CertChain& sent, VerifiedChain* facts, MemoRun* run) const {
  // A CA certificate is never a peer's identity, even one that chains to our root.
  if (X509_get_extension_flags(leaf) & EXFLAG_CA) {
    return {Reason::wrong_usage,
            "certificate " + quoted_subject(leaf) + " is a CA certificate, not a " +
                (options_.purpose == VerifyOptions::Purpose::client ? "client" : "server") + " certificate",
            0, issuer_line(leaf)};
  }
  // Every set-up step is checked: one that failed silently would verify with less than asked
  // (no purpose, no name, an intermediate missing).
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  bool ready = untrusted != nullptr;
  for (const auto* list : {&sent, &intermediates_})
    for (const auto& c : *list) ready = ready && bssl::PushToStack(untrusted.get(), bssl::UpRef(c));
  bssl::UniquePtr<X509_STORE_CTX> ctx(ready ? X509_STORE_CTX_new() : nullptr);
  const bool server = options_.purpose == VerifyOptions::Purpose::server;
  X509_STORE* store = run ? memo_store_.get() : store_.get();
  if (!ctx || !store || !X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted.get()) ||
      !X509_STORE_CTX_set_default(ctx.get(), server ? "ssl_server" : "ssl_client")) {
    return {Reason::protocol_error, "cannot set up verification: " + drain_errors(), 0, ""};
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // Let BoringSSL build one level deeper than allowed, so that a chain that is too long is
  // recognised as such (its own limit reports a missing issuer instead); this still bounds work.
  X509_VERIFY_PARAM_set_depth(param, options_.max_depth + 2);
  if (options_.at) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*options_.at));
  if (!options_.host.empty() && !X509_VERIFY_PARAM_set1_host(param, options_.host.data(), options_.host.size())) {
    ERR_clear_error();
    return {Reason::name_mismatch, "the name to check cannot be used (an embedded NUL?): refused unchecked", 0, ""};
  }
  X509_STORE_CTX_set_verify_cb(ctx.get(), options_.accept_stale_crl ? tolerate_stale_crl : tolerate_missing_crl);
  if (run && !SignatureMemo::attach(ctx.get(), run)) return {Reason::protocol_error, "cannot set up verification", 0, ""};
  bool verified = X509_verify_cert(ctx.get()) == 1;
  // Chain = client certificate, intermediates, anchor. When BoringSSL stopped at its depth
  // limit, the partial chain (no anchor) already holds too many intermediates.
  const size_t built = sk_X509_num(X509_STORE_CTX_get0_chain(ctx.get()));
  const int err = X509_STORE_CTX_get_error(ctx.get());
  const bool stopped =
      err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
  const size_t intermediates = verified  ? built - std::min<size_t>(built, 2)
                               : stopped ? built - std::min<size_t>(built, 1)
                                         : 0;
  if (intermediates > static_cast<size_t>(options_.max_depth)) {
    ERR_clear_error();
    return {Reason::chain_too_long,
            "the chain has " + std::string(verified ? "" : "at least ") + std::to_string(intermediates) +
                " intermediate(s) between the client certificate and the root; verify_depth allows " +
                std::to_string(options_.max_depth),
            static_cast<int>(built) - 1, issuer_line(leaf)};
  }
  if (verified) {
    ERR_clear_error();
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    VerifyOutcome out = strict_checks(chain, crls_);
    if (out.reason == Reason::ok && options_.purpose == VerifyOptions::Purpose::client) out = one_common_name(leaf);
    if (facts && out.reason == Reason::ok && !describe_chain(chain, *facts))
      out = {Reason::invalid_certificate, "a certificate of the verified path cannot be DER-encoded", -1, ""};
    return out;
  }
  VerifyOutcome out = explain(ctx.get(), leaf);
  ERR_clear_error();
  return out;
}

bool ChainVerifier::describe_chain(const STACK_OF(X509) * chain, VerifiedChain& facts) {
  facts.certificates.clear();
  facts.valid_from = 0;
  facts.valid_until = INT64_MAX;
  auto path = std::make_shared<std::vector<std::string>>();
  for (size_t i = 0; i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    if (i > 0 && i + 1 < sk_X509_num(chain)) {
      auto der = SignatureMemo::encoded(cert);  // the same bytes, encoded once per thread
      if (!der) der = der_of(cert);
      if (!der) return false;  // a path with a hole would be forwarded as if complete
      path->push_back(std::move(*der));
    }
    facts.valid_from = std::max(facts.valid_from, unix_time(X509_get0_notBefore(cert)));
    facts.valid_until = std::min(facts.valid_until, unix_time(X509_get0_notAfter(cert)));
    if (i + 1 < sk_X509_num(chain))  // the anchor itself is never on a CRL we check
      facts.certificates.emplace_back(X509_NAME_dup(X509_get_issuer_name(cert)),
                                      ASN1_INTEGER_dup(X509_get0_serialNumber(cert)));
  }
  facts.path_der = std::move(path);
  return true;
}

bool ChainVerifier::still_valid(const VerifiedChain& chain, std::int64_t now) const {
  if (now < chain.valid_from || now > chain.valid_until) return false;
  for (const auto& [issuer, serial] : chain.certificates) {
    for (const auto& crl : crls_) {
      if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), issuer.get()) != 0) continue;
      std::int64_t next = unix_time(X509_CRL_get0_nextUpdate(crl.get()));
      if (unix_time(X509_CRL_get0_lastUpdate(crl.get())) > now) return false;
      if (next && next < now && !options_.accept_stale_crl) return false;
      X509_REVOKED* revoked = nullptr;
      if (X509_CRL_get0_by_serial(crl.get(), &revoked, serial.get()) == 1) return false;
    }
  }
  return true;
}

VerifyOutcome ChainVerifier::explain(X509_STORE_CTX* ctx, X509* leaf) const {
  int err = X509_STORE_CTX_get_error(ctx);
  int depth = X509_STORE_CTX_get_error_depth(ctx);
  X509* failing = X509_STORE_CTX_get_current_cert(ctx);
  if (!failing) failing = leaf;
  VerifyOutcome out;
  out.depth = depth;
  out.issuer = issuer_line(failing);
  const std::string who = quoted_subject(failing);
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      out.reason = Reason::expired;
      out.detail = "certificate " + who + " expired on " + iso8601(unix_time(X509_get0_notAfter(failing)));
      break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      out.reason = Reason::not_yet_valid;
      out.detail = "certificate " + who + " is not valid before " + iso8601(unix_time(X509_get0_notBefore(failing)));
      break;
    case X509_V_ERR_CERT_REVOKED:
      out.reason = Reason::revoked;
      out.detail = "certificate " + who + " has been revoked" + revocation_words(failing);
      break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
      out.reason = Reason::name_mismatch;
      out.detail = "certificate " + who + " is not valid for the name '" + options_.host + "'";
      break;
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
      out.reason = Reason::crl_unavailable;
      out.detail = std::string("revocation of ") + who + " cannot be checked: " + X509_verify_cert_error_string(err) +
                   " (publish a fresh CRL with `gatehouse ca crl`)";
      break;
    case X509_V_ERR_INVALID_PURPOSE:
      out.reason = Reason::wrong_usage;
      out.detail =
          "certificate " + who + " is not meant for " +
          (options_.purpose == VerifyOptions::Purpose::server ? "servers (its extended key usage lacks serverAuth)"
                                                              : "client authentication (its key usage or "
                                                                "extended key usage lacks clientAuth)");
      break;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      out.reason = Reason::wrong_usage;
      out.detail = "certificate " + who + " is not allowed to issue certificates";
      break;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      out.reason = Reason::chain_too_long;
      out.detail = "the chain is longer than verify_depth (" + std::to_string(options_.max_depth) + ") allows";
      break;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      out.reason = Reason::bad_signature;
      out.detail = "the signature on certificate " + who + " does not verify against its issuer";
      break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      out.reason = Reason::untrusted_issuer;
      out.detail = "certificate " + who + " is self-signed; it must be issued by this listener's CA";
      break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      out.reason = Reason::untrusted_issuer;
      out.detail = "the chain ends at root " + who + ", which this listener does not trust";
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      if (X509_NAME_cmp(X509_get_subject_name(failing), X509_get_issuer_name(failing)) == 0) {
        out.reason = Reason::untrusted_issuer;
        out.detail =
            "certificate " + who + " is self-signed and is not one of the trusted roots (" + anchor_names() + ")";
        break;
      }
      // Named exactly like a CA we hold, yet not found: the lookup matches key identifiers too, so
      // this issuer has another key. A CA re-created under the same name is a different CA.
      if (trusts_a_ca_named(X509_get_issuer_name(failing))) {
        out.reason = Reason::untrusted_issuer;
        out.detail = "certificate " + who + " is issued by a look-alike of '" + out.issuer +
                     "': a CA with the same name as one this listener trusts but another key (was the CA "
                     "re-created?); only certificates from the CA in client_ca are accepted";
        break;
      }
      // The issuer is missing. If it carries the organisation of one of our roots it is most
      // likely our intermediate that was not sent; otherwise a foreign CA.
      out.reason = shares_anchor_organization(failing) ? Reason::incomplete_chain : Reason::untrusted_issuer;
      if (out.reason == Reason::incomplete_chain)
        out.detail = "certificate " + who + " is issued by '" + out.issuer +
                     "', which was not sent and is not trusted: send the full chain, leaf first (or list '" +
                     out.issuer + "' as an intermediate)";
      else
        out.detail = "certificate " + who + " is issued by '" + out.issuer +
                     "', which is not among the trusted roots (" + anchor_names() + ")";
      break;
    default:
      out.reason = Reason::untrusted_issuer;
      out.detail = "certificate " + who + " failed verification: " + X509_verify_cert_error_string(err);
      break;
  }
  return out;
}

}  // namespace gatehouse::tls
