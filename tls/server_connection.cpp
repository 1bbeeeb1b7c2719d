#include "tls/server_connection.hpp"

#include "common/deadline.hpp"

namespace gatehouse::tls {
namespace {

// The alerts a client sends when it cannot verify the server's certificate. A client sends its
// own certificate only after checking ours (TLS 1.2 and 1.3 alike), so these always mean ours.
bool client_rejected_our_certificate(uint32_t code) {
  if (ERR_GET_LIB(code) != ERR_LIB_SSL) return false;
  switch (ERR_GET_REASON(code)) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      return true;
    default:
      return false;
  }
}

bool ssl_reason_is(uint32_t code, int reason) {
  return ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == reason;
}

SessionFacts read_facts(SSL* ssl) {
  SessionFacts f;
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) f.sni = sni;
  f.completed = SSL_is_init_finished(ssl);
  if (f.completed) {
    f.version = SSL_get_version(ssl);
    f.tls13 = SSL_version(ssl) == TLS1_3_VERSION;
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
      f.cipher = SSL_CIPHER_standard_name(c);
      f.cipher_openssl = SSL_CIPHER_get_name(c);
    }
    f.resumed = SSL_session_reused(ssl);
    const uint8_t* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    f.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    f.credential = ServerContext::credential_of(ssl);
  }
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (certs && sk_CRYPTO_BUFFER_num(certs) > 0) {
    const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(certs, 0);
    f.leaf_der.assign(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(leaf)), CRYPTO_BUFFER_len(leaf));
  }
  return f;
}

// The issuer and dates of a certificate that did not verify, for the refusal page.
std::optional<PeerIdentity> parse_presented(const std::string& der) {
  if (der.empty()) return std::nullopt;
  bssl::UniquePtr<CRYPTO_BUFFER> buffer(
      CRYPTO_BUFFER_new(reinterpret_cast<const uint8_t*>(der.data()), der.size(), nullptr));
  bssl::UniquePtr<X509> leaf(buffer ? X509_parse_from_buffer(buffer.get()) : nullptr);
  ERR_clear_error();
  if (!leaf) return std::nullopt;
  return extract_identity(leaf.get());
}

}  // namespace

ServerConnection::ServerConnection(const ServerContext& context, asio::ip::tcp::socket& socket)
    : context_(context), stream_(socket, context.new_ssl(&report_)) {}

asio::awaitable<Verdict> ServerConnection::handshake(std::chrono::milliseconds timeout) {
  Deadline deadline(stream_.socket().get_executor());
  deadline.arm(timeout, [this] {
    asio::error_code ignored;
    stream_.socket().cancel(ignored);
  });
  const std::error_code ec = co_await stream_.handshake();
  deadline.disarm();
  facts_ = read_facts(stream_.ssl());
  co_return decide(ec, deadline.fired());
}

Verdict ServerConnection::decide(const std::error_code& ec, bool timed_out) {
  if (ec) return explain_failure(ec, timed_out);
  // A resumed session skipped the verify callback: its certificate meets today's CRL and routes.
  if (facts_.resumed) context_.recheck_resumed(stream_.ssl(), &report_);
  Verdict v;
  if (!report_.verify_ran && !facts_.leaf_der.empty()) {
    // Fail closed should any handshake with a certificate ever skip our verification.
    v.detail = "the session was not verified in this handshake";
    return v;
  }
  v.chain_verified = report_.identity.has_value();
  v.presented = v.chain_verified ? std::move(report_.identity) : parse_presented(facts_.leaf_der);
  v.chain_der = std::move(report_.chain_der);
  v.authorized = v.chain_verified && report_.authz.allowed;
  v.route = report_.authz.route;
  v.rule = report_.authz.rule;
  if (!report_.verify_ran) {  // verify = "optional" and no certificate came
    v.reason = Reason::no_certificate;
    v.detail = "the client sent no certificate";
  } else if (report_.verify.reason != Reason::ok) {
    v.reason = report_.verify.reason;
    v.detail = report_.verify.detail;
    v.failed_depth = report_.verify.depth;
    v.failed_issuer = report_.verify.issuer;
  } else if (!v.authorized) {
    v.reason = Reason::policy_denied;
    v.detail = report_.authz.detail;
  } else {
    v.reason = Reason::ok;
  }
  // Only verify = "optional" completes a handshake for a refused client (http mode answers it
  // with a page), or a resumed session that today's CRLs or routes refuse (recheck_resumed sent
  // the alert); otherwise a refusal here means our callbacks were bypassed.
  if (!v.allowed() && !context_.verify_optional() && !facts_.resumed) {
    v.reason = Reason::protocol_error;
    v.detail = "the session was not verified in this handshake";
  }
  return v;
}

// Why a handshake failed, in the closed list of reasons: our verifier's verdict when it ran,
// otherwise what BoringSSL refused before it could.
Verdict ServerConnection::explain_failure(const std::error_code& ec, bool timed_out) const {
  Verdict v;
  v.route = report_.authz.route;
  v.rule = report_.authz.rule;
  if (report_.identity) {
    v.presented = report_.identity;
    v.chain_verified = true;
    v.authorized = report_.authz.allowed;
  } else {
    v.presented = report_.presented;
  }
  if (report_.verify_ran && report_.verify.reason != Reason::ok) {
    v.reason = report_.verify.reason;
    v.detail = report_.verify.detail;
    v.failed_issuer = report_.verify.issuer;
    v.failed_depth = report_.verify.depth;
    return v;
  }
  const uint32_t code = stream_.last_error_code();
  if (report_.alpn_refused) {
    v.reason = Reason::protocol_error;
    v.detail = "the client offered ALPN " + quoted_list(*report_.alpn_refused) + ", none of this listener's alpn (" +
               quoted_list(context_.alpn().protocols()) + "): refused with a no_application_protocol alert";
  } else if (ssl_reason_is(code, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)) {
    v.reason = Reason::no_certificate;
    v.detail = "the client sent no certificate";
  } else if (ssl_reason_is(code, SSL_R_KEY_USAGE_BIT_INCORRECT)) {
    // TLS 1.3 checks this before our verifier runs: typically a CA certificate used as a client's.
    v.reason = Reason::wrong_usage;
    v.detail =
        "the client certificate's key usage does not allow signing (no digitalSignature); "
        "is it a CA certificate?";
  } else if (ssl_reason_is(code, SSL_R_EXCESSIVE_MESSAGE_SIZE) && report_.client_hello_read) {
    // After the ClientHello only the client's Certificate message can outgrow BoringSSL's
    // max_cert_list (set from max_client_cert_size).
    v.reason = Reason::client_cert_too_large;
    v.detail = too_large_detail(0, context_.max_client_cert_size());
  } else if (client_rejected_our_certificate(code)) {
    v.reason = Reason::server_not_trusted;
    v.detail = "the client did not accept this server's certificate (it answered '" + stream_.last_error() +
               "'): clients need the CA that issued it, for a private CA its root.pem";
  } else if (timed_out) {
    v.reason = Reason::handshake_timeout;
    v.detail = "the handshake did not finish within handshake_timeout";
  } else if (ec == std::error_code(asio::error::eof) || ec == std::error_code(asio::error::connection_reset) ||
             ec == std::errc::connection_reset || ec == std::errc::broken_pipe) {
    // (std::errc too: a reset read by BoringSSL comes back as errno in std::system_category,
    // which is not asio's category for connection_reset.)
    // A browser's preconnect, or a certificate prompt it abandoned: the client left, we refused nothing.
    v.reason = Reason::client_closed;
    v.detail = ec == std::error_code(asio::error::eof) ? "the client closed the connection during the handshake"
                                                       : "the client reset the connection during the handshake";
  } else if (ec == std::error_code(asio::error::operation_aborted)) {
    // Cancelled, and not by the handshake timeout: the connection's signal (a drain's deadline,
    // max_connection_age).
    v.reason = Reason::server_closed;
    v.detail =
        "Gatehouse ended the connection before the handshake finished (a drain's deadline or max_connection_age)";
  } else {
    v.reason = Reason::protocol_error;
    v.detail = stream_.last_error().empty() ? ec.message() : stream_.last_error();
  }
  return v;
}

}  // namespace gatehouse::tls
