#include "tls/client_verifier.hpp"

#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls {
namespace {

std::string quoted_subject(X509* cert) { return cert ? "'" + subject_line(cert) + "'" : "the certificate"; }

std::string organization(const X509_NAME* name) {
  int i = X509_NAME_get_index_by_NID(name, NID_organizationName, -1);
  if (i < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

}  // namespace

bool ClientVerifier::shares_anchor_organization(X509* cert) const {
  std::string wanted = organization(X509_get_issuer_name(cert));
  if (wanted.empty()) return false;
  for (const auto& a : anchors_)
    if (organization(X509_get_subject_name(a.get())) == wanted) return true;
  return false;
}

ClientVerifier::ClientVerifier(const CertChain& anchors, const CertChain& intermediates, int verify_depth)
    : store_(X509_STORE_new()), verify_depth_(verify_depth) {
  for (const auto& a : anchors) {
    X509_STORE_add_cert(store_.get(), a.get());
    anchors_.emplace_back(bssl::UpRef(a));
  }
  for (const auto& i : intermediates) intermediates_.emplace_back(bssl::UpRef(i));
  // Every configured anchor is trusted as given, even an intermediate: the operator chose it.
  X509_STORE_set_flags(store_.get(), X509_V_FLAG_PARTIAL_CHAIN);
}

VerifyOutcome ClientVerifier::verify(X509* leaf, const CertChain& sent) const {
  // A CA certificate is never a client identity, even one that chains to our root.
  if (X509_get_extension_flags(leaf) & EXFLAG_CA) {
    return {Reason::wrong_usage,
            "certificate " + quoted_subject(leaf) + " is a CA certificate, not a client certificate", 0,
            issuer_line(leaf)};
  }
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (const auto& c : sent) sk_X509_push(untrusted.get(), bssl::UpRef(c).release());
  for (const auto& c : intermediates_) sk_X509_push(untrusted.get(), bssl::UpRef(c).release());

  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || !X509_STORE_CTX_init(ctx.get(), store_.get(), leaf, untrusted.get())) {
    return {Reason::protocol_error, "cannot set up verification: " + drain_errors(), 0, ""};
  }
  X509_STORE_CTX_set_default(ctx.get(), "ssl_client");  // purpose clientAuth
  // Let BoringSSL build one level deeper than allowed, so that a chain that is too long is
  // recognised as such (its own limit reports a missing issuer instead); this still bounds work.
  X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx.get()), verify_depth_ + 2);
  bool verified = X509_verify_cert(ctx.get()) == 1;
  // Chain = client certificate, intermediates, anchor.
  const size_t built = sk_X509_num(X509_STORE_CTX_get0_chain(ctx.get()));
  const size_t intermediates = verified ? built - std::min<size_t>(built, 2) : built - std::min<size_t>(built, 1);
  if (intermediates > static_cast<size_t>(verify_depth_)) {
    ERR_clear_error();
    return {Reason::chain_too_long,
            "the chain has " + std::string(verified ? "" : "at least ") + std::to_string(intermediates) +
                " intermediate(s) between the client certificate and the root; verify_depth allows " +
                std::to_string(verify_depth_),
            static_cast<int>(built) - 1, issuer_line(leaf)};
  }
  if (verified) return {};
  VerifyOutcome out = explain(ctx.get(), leaf);
  ERR_clear_error();
  return out;
}

VerifyOutcome ClientVerifier::explain(X509_STORE_CTX* ctx, X509* leaf) const {
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
      out.detail = "certificate " + who + " is not valid before " +
                   iso8601(unix_time(X509_get0_notBefore(failing)));
      break;
    case X509_V_ERR_CERT_REVOKED:
      out.reason = Reason::revoked;
      out.detail = "certificate " + who + " has been revoked";
      break;
    case X509_V_ERR_INVALID_PURPOSE:
      out.reason = Reason::wrong_usage;
      out.detail = "certificate " + who + " is not meant for client authentication (its key usage "
                   "or extended key usage lacks clientAuth)";
      break;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      out.reason = Reason::wrong_usage;
      out.detail = "certificate " + who + " is not allowed to issue certificates";
      break;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      out.reason = Reason::chain_too_long;
      out.detail = "the chain is longer than verify_depth (" + std::to_string(verify_depth_) + ") allows";
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
        out.detail = "certificate " + who + " is self-signed; it must be issued by this listener's CA";
        break;
      }
      // The issuer is missing. If it carries the organisation of one of our roots it is most
      // likely our intermediate that the client did not send; otherwise a foreign CA.
      out.reason = shares_anchor_organization(failing) ? Reason::incomplete_chain : Reason::untrusted_issuer;
      out.detail = "issuer '" + out.issuer + "' of certificate " + who +
                   " is not this listener's CA or a known intermediate" +
                   (out.reason == Reason::incomplete_chain
                        ? " (it looks like an intermediate of ours: the client must send it, or the "
                          "listener must list it in client_intermediates)"
                        : "");
      break;
    default:
      out.reason = Reason::untrusted_issuer;
      out.detail = "certificate " + who + " failed verification: " +
                   X509_verify_cert_error_string(err);
      break;
  }
  return out;
}

}  // namespace gatehouse::tls
