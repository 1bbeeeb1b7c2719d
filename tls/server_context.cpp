#include "tls/server_context.hpp"

#include <atomic>
#include <ctime>

#include "tls/client_hello.hpp"
#include "tls/der.hpp"
#include "tls/diagnose/inspect.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"
#include "tls/reason_alert.hpp"
#include "tls/server_credentials.hpp"
#include "tls/verified_cache.hpp"

namespace gatehouse::tls {
namespace {

// A CRL this close to its next update draws a warning from `check` and at start-up and reload.
constexpr std::int64_t kCrlRenewalWarning = 2 * 86400;

constexpr const char* kGroups = "X25519:P-256";
constexpr std::size_t kCertificateMessageSlack = 8 * 1024;
constexpr std::size_t kLoggedAlpnNames = 8;  // of a refused client's ALPN offer, in the log's detail

// ex_data indices are per process by BoringSSL's design (one slot number for every SSL).
int report_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

uint16_t to_wire(conf::TlsVersion v) { return v == conf::TlsVersion::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

}  // namespace

std::string too_large_detail(std::size_t sent_bytes, std::size_t limit) {
  return "the client sent " +
         (sent_bytes ? std::to_string(sent_bytes) + " bytes of certificates" : "a certificate message") +
         ", more than max_client_cert_size (" + std::to_string(limit) +
         " bytes) allows; a client certificate is usually under 2 KiB (raise the limit if yours are really this big)";
}

ServerContext::~ServerContext() = default;

std::unique_ptr<ServerContext> ServerContext::create(const conf::TlsSettings& tls, const std::string& file,
                                                     const Authorizer* authorizer, AlpnPolicy alpn,
                                                     std::shared_ptr<TicketKeyRing> ring, conf::Diagnostics& problems) {
  std::unique_ptr<ServerContext> sc(new ServerContext());
  sc->authorizer_ = authorizer;
  sc->alpn_ = std::move(alpn);
  sc->verify_optional_ = tls.verify == conf::VerifyMode::optional;
  sc->max_client_cert_size_ = static_cast<std::size_t>(tls.max_client_cert_size);
  // Process-wide on purpose: an id must never repeat, even across servers, while a thread's
  // VerifiedCache may still hold entries under it.
  static std::atomic<std::uint64_t> next_id{1};
  sc->id_ = next_id.fetch_add(1);
  size_t before = problems.problems().size();
  for (const auto& c : tls.certificates) {
    if (auto cred = load_credential(c, file, problems)) sc->credentials_.push_back(std::move(*cred));
  }
  std::vector<std::string> warnings;
  auto anchors = load_ca_file(tls.client_ca, "client_ca", warnings);
  if (!anchors) problems.add(file, tls.client_ca.source, anchors.error());
  for (auto& w : warnings) problems.warn(file, tls.client_ca.source, w);
  warnings.clear();
  CertChain intermediates;
  if (tls.client_intermediates) {
    auto loaded = load_ca_file(*tls.client_intermediates, "client_intermediates", warnings);
    if (!loaded)
      problems.add(file, tls.client_intermediates->source, loaded.error());
    else
      intermediates = std::move(*loaded);
    for (auto& w : warnings) problems.warn(file, tls.client_intermediates->source, w);
  }
  CrlList crls;
  if (tls.crl) {
    auto loaded = read_crls(tls.crl->path);
    if (!loaded)
      problems.add(file, tls.crl->source, loaded.error());
    else
      crls = std::move(*loaded);
    for (const auto& crl : crls) {
      std::int64_t next = unix_time(X509_CRL_get0_nextUpdate(crl.get()));
      if (next && next < std::time(nullptr))
        problems.warn(file, tls.crl->source,
                      tls.crl->path.string() + ": the CRL of '" + diagnose::crl_issuer(crl.get()) +
                          "' is past its next update (" + iso8601(next) + "); " +
                          (tls.crl_stale_reject ? "with crl_stale = \"reject\" clients of that CA are refused"
                                                : "with crl_stale = \"warn\" it is still used") +
                          ": publish a fresh one (`gatehouse ca crl`)");
      else if (next && next < std::time(nullptr) + kCrlRenewalWarning)
        problems.warn(file, tls.crl->source,
                      tls.crl->path.string() + ": the CRL of '" + diagnose::crl_issuer(crl.get()) +
                          "' needs renewing: its next update is " + iso8601(next) + ", within 2 days; after that " +
                          (tls.crl_stale_reject ? "every client of that CA is refused" : "it is used stale") +
                          " (`gatehouse ca crl`, then reload)");
    }
  }
  if (problems.problems().size() != before) return nullptr;

  VerifyOptions options{.purpose = VerifyOptions::Purpose::client,
                        .max_depth = tls.verify_depth,
                        .accept_stale_crl = !tls.crl_stale_reject};
  sc->loaded_ = describe_loaded(tls, *anchors, intermediates, crls);
  sc->verifier_ = std::make_unique<ChainVerifier>(*anchors, intermediates, crls, options);
  sc->tls13_ = tls.max_version == conf::TlsVersion::v1_3;
  // Buffers only: BoringSSL keeps the client's certificates as DER and never parses them into
  // X509 itself; check_peer parses them once (the X509 flavour parsed each one twice).
  sc->ctx_.reset(SSL_CTX_new(TLS_with_buffers_method()));
  SSL_CTX* ctx = sc->ctx_.get();
  bool ok = SSL_CTX_set_min_proto_version(ctx, to_wire(tls.min_version)) &&
            SSL_CTX_set_max_proto_version(ctx, to_wire(tls.max_version)) &&
            SSL_CTX_set_strict_cipher_list(ctx, kAeadTls12Ciphers) && SSL_CTX_set1_curves_list(ctx, kGroups);
  if (!ok) {
    problems.add(file, tls.client_ca.source, "cannot configure TLS: " + drain_errors());
    return nullptr;
  }
  // Resumption by tickets only (no server-side cache). A resumed connection is verified and
  // authorized again by the connection (recheck_resumed); the session-ID context below makes
  // sessions from another trust configuration unusable altogether.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // BoringSSL refuses a Certificate message over this (100 KiB by default) before buffering it;
  // the slack covers its framing (lengths, TLS 1.3 extensions). check_peer then counts the DER
  // bytes exactly, so both ends of the limit give the reason client_cert_too_large.
  SSL_CTX_set_max_cert_list(ctx, sc->max_client_cert_size_ + kCertificateMessageSlack);
  // TLS 1.2: our order of AEAD suites wins over the client's (TLS 1.3 suites are all AEAD).
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!tls.session_tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  // One TLS 1.3 ticket per handshake, not BoringSSL's two: a ticket carries the client's chain,
  // and sealing the second one cost ~3% of a full handshake for clients that resume once.
  SSL_CTX_set_num_tickets(ctx, 1);
  auto sid_ctx = session_context(*anchors, intermediates, tls);
  SSL_CTX_set_session_id_context(ctx, sid_ctx.data(), sid_ctx.size());
  if (tls.ticket_keys) {
    auto keys = load_ticket_keys(*tls.ticket_keys, file, problems);
    if (keys.empty()) return nullptr;
    sc->ticket_keys_ = std::move(keys);
  } else {
    sc->ring_ = ring ? std::move(ring) : TicketKeyRing::make(tls.ticket_rotation.count() / 1000);
  }
  if (tls.session_tickets) SSL_CTX_set_tlsext_ticket_key_cb(ctx, &ServerContext::on_ticket_key);
  // Tell clients which CAs we accept, so browsers offer the right certificate: the roots and the
  // configured intermediates. Chrome offers only a certificate it can chain to a listed name, so
  // a tester who installed a leaf-only .p12 is offered nothing unless its issuer is listed.
  bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> names(sk_CRYPTO_BUFFER_new_null());
  bool names_ok = names != nullptr;
  auto add_name = [&](X509* ca) {
    auto name = names_ok ? der_buffer_of(X509_get_subject_name(ca)) : nullptr;
    names_ok = name && bssl::PushToStack(names.get(), std::move(name));
  };
  for (const auto& a : sc->verifier_->anchors()) add_name(a.get());
  for (const auto& i : intermediates) add_name(i.get());
  if (!names_ok) {
    problems.add(file, tls.client_ca.source,
                 "cannot build the list of accepted CAs sent to clients: " + drain_errors());
    return nullptr;
  }
  SSL_CTX_set0_client_CAs(ctx, names.release());
  // With verify = "optional" the handshake goes on without a (valid) certificate; the report
  // keeps the reason and http mode answers with a page instead of forwarding.
  SSL_CTX_set_custom_verify(ctx,
                            sc->verify_optional_ ? SSL_VERIFY_PEER : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                            &ServerContext::on_verify);
  if (sc->alpn_.offers()) SSL_CTX_set_alpn_select_cb(ctx, &ServerContext::on_alpn, nullptr);
  SSL_CTX_set_select_certificate_cb(ctx, &ServerContext::on_select_certificate);
  SSL_CTX_set_ex_data(ctx, context_index(), sc.get());
  return sc;
}

bssl::UniquePtr<SSL> ServerContext::new_ssl(HandshakeReport* report) const {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
  if (ssl) {
    SSL_set_ex_data(ssl.get(), report_index(), report);
    SSL_set_accept_state(ssl.get());
  }
  return ssl;
}

const ServerContext* ServerContext::of(const SSL* ssl) {
  return static_cast<const ServerContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
}

HandshakeReport* ServerContext::report_of(const SSL* ssl) {
  return static_cast<HandshakeReport*>(SSL_get_ex_data(ssl, report_index()));
}

const ServerCredential* ServerContext::select(const SSL_CLIENT_HELLO* hello) const {
  ClientHelloFacts facts = read_client_hello(hello);
  // TLS 1.3 picks the key type by signature algorithm alone; TLS 1.2 also by cipher suite.
  bool ecdsa_ok =
      (facts.accepts_ecdsa || !facts.sent_sigalgs) && ((facts.offers_tls13 && tls13_) || facts.offers_ecdsa_suite);
  const ServerCredential* by_name = nullptr;
  const ServerCredential* by_type = nullptr;
  for (const auto& cred : credentials_) {
    bool type_ok = cred.ecdsa == ecdsa_ok;
    bool name_ok = false;
    for (const auto& n : cred.names) name_ok |= name_matches(n, facts.server_name);
    if (name_ok && type_ok) return &cred;
    if (name_ok && !by_name) by_name = &cred;
    if (type_ok && !by_type) by_type = &cred;
  }
  if (by_name) return by_name;
  return by_type ? by_type : &credentials_.front();
}

enum ssl_select_cert_result_t ServerContext::on_select_certificate(const SSL_CLIENT_HELLO* hello) {
  if (HandshakeReport* report = report_of(hello->ssl)) report->client_hello_read = true;
  const ServerCredential* cred = of(hello->ssl)->select(hello);
  if (!SSL_set_chain_and_key(hello->ssl, cred->chain_view.data(), cred->chain_view.size(), cred->key.get(), nullptr))
    return ssl_select_cert_error;
  return ssl_select_cert_success;
}

enum ssl_verify_result_t ServerContext::on_verify(SSL* ssl, uint8_t* out_alert) {
  const ServerContext* sc = of(ssl);
  bool ok = sc->check_peer(ssl, report_of(ssl), out_alert);
  return ok || sc->verify_optional_ ? ssl_verify_ok : ssl_verify_invalid;
}

int ServerContext::on_alpn(SSL* ssl, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len, void*) {
  const AlpnPolicy& policy = of(ssl)->alpn_;
  const std::span<const uint8_t> offered(in, in_len);
  AlpnChoice choice = policy.choose(offered);
  if (choice.outcome == AlpnOutcome::chosen) {
    *out = choice.protocol.data();  // within the ClientHello, which BoringSSL keeps until it copies it
    *out_len = static_cast<uint8_t>(choice.protocol.size());
    return SSL_TLSEXT_ERR_OK;
  }
  if (policy.mismatch() == AlpnMismatch::continue_without) return SSL_TLSEXT_ERR_NOACK;
  if (HandshakeReport* report = report_of(ssl)) report->alpn_refused = alpn_names(offered, kLoggedAlpnNames);
  return SSL_TLSEXT_ERR_ALERT_FATAL;  // BoringSSL sends no_application_protocol
}

const ServerCredential* ServerContext::credential_of(const SSL* ssl) {
  const ServerContext* sc = of(ssl);
  const EVP_PKEY* key = SSL_get_privatekey(ssl);
  for (const auto& cred : sc->credentials_)
    if (cred.key.get() == key) return &cred;
  return nullptr;
}

bool ServerContext::recheck_resumed(SSL* ssl, HandshakeReport* report) const {
  uint8_t alert = SSL_AD_BAD_CERTIFICATE;
  bool ok = check_peer(ssl, report, &alert);
  if (!ok && !verify_optional_) SSL_send_fatal_alert(ssl, alert);
  return ok;
}

bool ServerContext::check_peer(SSL* ssl, HandshakeReport* report, uint8_t* out_alert) const {
  // A chain this thread verified in full before: today's dates and CRLs, then the routes.
  const std::string digest = peer_chain_digest(ssl);
  const VerifiedEntry* known = VerifiedCache::find(id_, digest);
  if (known && verifier_->still_valid(known->chain, std::time(nullptr))) {
    report->verify_ran = true;
    report->verify = {};
    report->identity = known->identity;
    report->chain_der = known->chain.path_der;
    return authorize(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), report, out_alert);
  }
  return verify_in_full(ssl, report, out_alert, digest, /*remembered=*/true);
}

namespace {

Verdict verdict_of(HandshakeReport& report) {
  Verdict v;
  v.chain_verified = report.identity.has_value();
  v.presented = std::move(report.identity);
  v.authorized = v.chain_verified && report.authz.allowed;
  v.route = report.authz.route;
  v.rule = report.authz.rule;
  // authorize() records a route's refusal as the verify outcome too.
  v.reason = report.verify.reason != Reason::ok ? report.verify.reason
             : v.authorized                     ? Reason::ok
                                                : Reason::policy_denied;
  v.detail = report.verify.detail.empty() ? report.authz.detail : report.verify.detail;
  if (!v.chain_verified) {
    v.presented = std::move(report.presented);
    v.failed_depth = report.verify.depth;
    v.failed_issuer = report.verify.issuer;
  }
  return v;
}

}  // namespace

Verdict ServerContext::reverify(SSL* ssl) const {
  HandshakeReport report;
  uint8_t alert = 0;  // nothing is sent: the caller closes the connection
  verify_in_full(ssl, &report, &alert, peer_chain_digest(ssl), /*remembered=*/false);
  return verdict_of(report);
}

Verdict ServerContext::judge(const std::vector<std::string>& chain_der, const std::string& sni) const {
  bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> buffers(sk_CRYPTO_BUFFER_new_null());
  for (const auto& der : chain_der) {
    bssl::UniquePtr<CRYPTO_BUFFER> b(
        CRYPTO_BUFFER_new(reinterpret_cast<const uint8_t*>(der.data()), der.size(), nullptr));
    if (!buffers || !b || !bssl::PushToStack(buffers.get(), std::move(b))) {
      Verdict v;
      v.reason = Reason::protocol_error;
      v.detail = "out of memory";
      return v;
    }
  }
  HandshakeReport report;
  uint8_t alert = 0;
  verify_chain(buffers.get(), sni.empty() ? nullptr : sni.c_str(), &report, &alert, nullptr);
  return verdict_of(report);
}

bool ServerContext::verify_in_full(SSL* ssl, HandshakeReport* report, uint8_t* out_alert, const std::string& digest,
                                   bool remembered) const {
  // On a resumed session these are the certificates stored in the session: checked again
  // against today's CRL and policy, since BoringSSL does not re-verify resumptions itself.
  return verify_chain(SSL_get0_peer_certificates(ssl), SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), report,
                      out_alert, &digest, remembered);
}

bool ServerContext::verify_chain(const STACK_OF(CRYPTO_BUFFER) * buffers, const char* sni, HandshakeReport* report,
                                 uint8_t* out_alert, const std::string* digest, bool remembered) const {
  std::size_t sent_bytes = 0;
  for (size_t i = 0; buffers && i < sk_CRYPTO_BUFFER_num(buffers); ++i)
    sent_bytes += CRYPTO_BUFFER_len(sk_CRYPTO_BUFFER_value(buffers, i));
  if (sent_bytes > max_client_cert_size_) {
    report->verify = {Reason::client_cert_too_large, too_large_detail(sent_bytes, max_client_cert_size_), -1, ""};
    report->verify_ran = true;
    *out_alert = SSL_AD_BAD_CERTIFICATE;
    return false;
  }
  VerifiedChain facts;
  // A handshake's chain goes through this thread's SignatureMemo first. What it does not admit is
  // verified below exactly as without it: only that code refuses and explains.
  bssl::UniquePtr<X509> leaf = remembered ? verifier_->verify_remembered(buffers, facts) : nullptr;
  report->verify_ran = true;
  if (!leaf && !verify_parsed(buffers, report, out_alert, leaf, facts)) return false;
  report->identity = extract_identity(leaf.get());
  report->chain_der = facts.path_der;
  if (digest) VerifiedCache::store(id_, *digest, {std::move(facts), *report->identity});
  return authorize(sni, report, out_alert);
}

bool ServerContext::verify_parsed(const STACK_OF(CRYPTO_BUFFER) * buffers, HandshakeReport* report, uint8_t* out_alert,
                                  bssl::UniquePtr<X509>& leaf, VerifiedChain& facts) const {
  facts = VerifiedChain{};
  CertChain chain;
  for (size_t i = 0; buffers && i < sk_CRYPTO_BUFFER_num(buffers); ++i) {
    X509* cert = X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(buffers, i));
    if (!cert) {
      ERR_clear_error();
      report->verify = {Reason::protocol_error,
                        "certificate " + std::to_string(i) +
                            " sent by the client "
                            "cannot be parsed",
                        static_cast<int>(i), ""};
      *out_alert = SSL_AD_BAD_CERTIFICATE;
      return false;
    }
    chain.emplace_back(cert);
  }
  if (chain.empty()) {
    report->verify = {Reason::no_certificate, "the client sent no certificate", -1, ""};
    *out_alert = SSL_AD_CERTIFICATE_REQUIRED;
    return false;
  }
  leaf = std::move(chain.front());
  chain.erase(chain.begin());
  report->verify = verifier_->verify(leaf.get(), chain, &facts);
  if (report->verify.reason != Reason::ok) {
    report->presented = extract_identity(leaf.get());
    *out_alert = reason_alert(report->verify.reason);
    return false;
  }
  return true;
}

// Authorize in the handshake too, so a refused client gets access_denied at once.
bool ServerContext::authorize(const char* sni, HandshakeReport* report, uint8_t* out_alert) const {
  if (authorizer_) {
    report->authz = authorizer_->authorize(*report->identity, sni ? sni : "");
    if (!report->authz.allowed) {
      report->verify = {report->authz.reason, report->authz.detail, 0, report->identity->issuer};
      *out_alert = SSL_AD_ACCESS_DENIED;
      return false;
    }
  }
  return true;
}

}  // namespace gatehouse::tls
