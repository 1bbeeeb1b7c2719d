#include "proxy/connection.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "proxy/deadline.hpp"
#include "proxy/http/http_session.hpp"
#include "proxy/proxy_header_reader.hpp"
#include "proxy/proxy_protocol.hpp"
#include "proxy/revalidation.hpp"
#include "proxy/splice.hpp"
#include "proxy/upstream_link.hpp"
#include "proxy/whoami.hpp"
#include "tls/stream.hpp"

namespace gatehouse::proxy {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string peer_text(const asio::ip::tcp::endpoint& ep) {
  if (ep.port() == 0) return "unknown";
  auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

// Why a handshake failed, in the closed list of reasons, with plain words.
void explain_handshake_failure(const tls::HandshakeReport& report, const tls::Stream& stream, const asio::error_code& ec,
                               bool timed_out, std::size_t max_client_cert_size, ConnectionRecord& rec) {
  if (report.verify_ran && report.verify.reason != gatehouse::Reason::ok) {
    rec.reason = report.verify.reason;
    rec.rule = report.authz.rule;
    rec.detail = report.verify.detail;
    rec.failed_issuer = report.verify.issuer;
    rec.failed_depth = report.verify.depth;
    return;
  }
  uint32_t code = stream.last_error_code();
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    rec.reason = gatehouse::Reason::no_certificate;
    rec.detail = "the client sent no certificate";
    return;
  }
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_KEY_USAGE_BIT_INCORRECT) {
    // TLS 1.3 checks this before our verifier runs: typically a CA certificate used as a client's.
    rec.reason = gatehouse::Reason::wrong_usage;
    rec.detail = "the client certificate's key usage does not allow signing (no digitalSignature); "
                 "is it a CA certificate?";
    return;
  }
  // After the ClientHello only the client's Certificate message can outgrow BoringSSL's
  // max_cert_list (set from max_client_cert_size).
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_EXCESSIVE_MESSAGE_SIZE && report.client_hello_read) {
    rec.reason = gatehouse::Reason::client_cert_too_large;
    rec.detail = tls::too_large_detail(0, max_client_cert_size);
    return;
  }
  if (timed_out) {
    rec.reason = gatehouse::Reason::handshake_timeout;
    rec.detail = "the handshake did not finish within handshake_timeout";
    return;
  }
  rec.reason = gatehouse::Reason::protocol_error;
  rec.detail = ec == asio::error::eof ? "the client closed the connection during the handshake"
                                      : stream.last_error().empty() ? ec.message() : stream.last_error();
}

void fill_tls_facts(SSL* ssl, ConnectionRecord& rec) {
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) rec.sni = sni;
  if (SSL_is_init_finished(ssl)) {
    rec.tls_version = SSL_get_version(ssl);
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) rec.cipher = SSL_CIPHER_standard_name(c);
    rec.resumed = SSL_session_reused(ssl);
  }
}

// One handshake's outcome for gatehouse_tls_handshakes_total and its duration histogram.
void count_handshake(metrics::ListenerCounters& c, SSL* ssl, gatehouse::Reason result, double seconds) {
  auto version = metrics::TlsVersionSlot::none;
  bool resumed = false;
  if (ssl && SSL_is_init_finished(ssl)) {
    version = SSL_version(ssl) == TLS1_3_VERSION ? metrics::TlsVersionSlot::tls13 : metrics::TlsVersionSlot::tls12;
    resumed = SSL_session_reused(ssl);
  }
  c.handshakes[static_cast<size_t>(result)][static_cast<size_t>(version)][resumed ? 1 : 0].add();
  if (ssl) c.handshake_duration.observe(seconds);
}

// The facts an http-mode upstream is given about this client: its certificate and the path its
// verification built, never the other certificates it sent (anyone can append any certificate).
http::ForwardFacts forward_facts(SSL* ssl, const tls::HandshakeReport& report, const asio::ip::tcp::endpoint& client) {
  http::ForwardFacts facts;
  facts.identity = &*report.identity;
  facts.client_ip = client.address().to_string();
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (certs && sk_CRYPTO_BUFFER_num(certs) > 0) {
    const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(certs, 0);
    facts.leaf_der.assign(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(leaf)), CRYPTO_BUFFER_len(leaf));
  }
  if (report.chain_der) facts.chain_der = *report.chain_der;
  if (const auto* cred = tls::ServerContext::credential_of(ssl); cred && !cred->uri.empty()) facts.by = cred->uri.front();
  return facts;
}

// What the client is told with verify = "optional": the reason and the facts of the certificate it sent.
http::Refusal refusal_of(SSL* ssl, const tls::HandshakeReport& report, const policy::Router& router) {
  http::Refusal r;
  r.reason = report.verify_ran ? report.verify.reason : gatehouse::Reason::no_certificate;
  if (r.reason == gatehouse::Reason::ok) r.reason = gatehouse::Reason::policy_denied;
  if (report.authz.route >= 0) r.route = router.routes()[static_cast<size_t>(report.authz.route)].name;
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (certs && sk_CRYPTO_BUFFER_num(certs) > 0) {
    bssl::UniquePtr<X509> leaf(X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(certs, 0)));
    if (leaf) {
      auto id = tls::extract_identity(leaf.get());
      r.issuer = id.issuer;
      r.not_before = id.not_before;
      r.not_after = id.not_after;
    }
  }
  ERR_clear_error();
  return r;
}

static_assert(kProxyTlvCount == metrics::kProxyTlvSlots);

std::string proxy_v2_preface(SSL* ssl, const tls::PeerIdentity* identity, const asio::ip::tcp::endpoint& client,
                             const asio::ip::tcp::socket& socket, metrics::WorkerCounters& counters) {
  ProxyV2Info info;
  info.source = client;
  asio::error_code ec;
  info.destination = socket.local_endpoint(ec);
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  bool has_cert = certs && sk_CRYPTO_BUFFER_num(certs) > 0;
  info.cert_in_session = has_cert;
  info.cert_on_connection = has_cert && !SSL_session_reused(ssl);
  info.verify = identity ? 0 : 1;
  info.version = SSL_get_version(ssl);
  if (identity) info.cn = identity->cn;
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) info.cipher = SSL_CIPHER_get_name(c);
  if (const auto* cred = tls::ServerContext::credential_of(ssl)) {
    info.sig_alg = cred->sig_alg;
    info.key_alg = cred->key_alg;
  }
  if (has_cert) {
    const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(certs, 0);
    info.client_cert_der.assign(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(leaf)), CRYPTO_BUFFER_len(leaf));
  }
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) info.authority = sni;
  const uint8_t* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  std::vector<ProxyTlv> dropped;
  std::string header = encode_proxy_v2(info, dropped);
  for (ProxyTlv tlv : dropped) counters.proxy_tlv_dropped[static_cast<std::size_t>(tlv)].add();
  return header;
}

}  // namespace

// `snapshot` is only held: it keeps `listener` alive for this connection, whatever a reload does.
asio::awaitable<void> serve_connection(WorkerContext& worker, [[maybe_unused]] std::shared_ptr<const Snapshot> snapshot,
                                       std::uint64_t generation, const ListenerRuntime& listener,
                                       asio::ip::tcp::socket socket) {
  const auto started = Clock::now();
  auto& counters = worker.counters;
  auto& mine = worker.listener(listener.index);
  counters.connections_total.add();
  counters.connections_active.add();
  mine.connections_total.add();
  mine.connections_active.add();
  asio::ip::tcp::socket upstream(socket.get_executor());
  auto live = worker.live.insert(worker.live.end(), LiveSockets{&socket, &upstream});
  live->listener = listener.index;
  live->checked_generation = generation;
  struct Cleanup {
    WorkerContext& w;
    metrics::ListenerCounters& mine;
    std::list<LiveSockets>::iterator it;
    Clock::time_point started;
    ~Cleanup() {
      w.live.erase(it);
      w.counters.connections_active.sub();
      mine.connections_active.sub();
      mine.connection_duration.observe(std::chrono::duration<double>(Clock::now() - started).count());
    }
  } cleanup{worker, mine, live, started};

  ConnectionRecord rec;
  rec.listener = listener.settings.name;
  asio::error_code ignored;
  asio::ip::tcp::endpoint client = socket.remote_endpoint(ignored);
  rec.client = peer_text(client);
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  auto finish = [&](std::string close) {
    rec.close = std::move(close);
    rec.duration_ms = ms_since(started);
    worker.access_log.write(rec);
    if (!worker.access_log.enabled() && rec.decision == "deny")  // refusals are never only at debug
      spdlog::info("refused {} on {}: {} ({}) issuer '{}' depth {}", rec.client, rec.listener,
                   gatehouse::reason_keyword(rec.reason), rec.detail, rec.failed_issuer, rec.failed_depth);
  };
  // Ended by Gatehouse after a reload or at max_connection_age: that is its close, with the reason.
  auto finish_if_ended = [&] {
    if (!live->closing()) return false;
    if (live->ending == Ending::reverified_closed) {
      rec.decision = "deny";
      rec.reason = live->ending_reason;
    }
    rec.detail = live->ending_detail;
    finish(std::string(ending_keyword(live->ending)));
    return true;
  };
  // Armed from accept; the Deadline is gone before `live` is (declared after `cleanup`).
  Deadline age(socket.get_executor());
  if (const auto max_age = listener.settings.max_connection_age; max_age.count() > 0)
    age.arm(max_age, [&worker, &l = *live, max_age] { reach_max_age(worker, l, max_age); });

  if (!listener.settings.accept_proxy_protocol.empty()) {
    auto header = co_await read_proxy_header(socket, listener.settings.accept_proxy_protocol,
                                             listener.settings.handshake_timeout);
    if (!header.ok) {
      rec.reason = gatehouse::Reason::protocol_error;
      rec.detail = header.error;
      rec.decision = "deny";
      counters.refused[static_cast<size_t>(rec.reason)].add();
      count_handshake(mine, nullptr, rec.reason, 0);
      finish(worker.terminating ? "terminated" : "proxy_header_refused");
      co_return;
    }
    if (header.client) {
      rec.client = peer_text(*header.client) + " via " + rec.client;
      client = *header.client;
    }
  }

  tls::HandshakeReport report;
  tls::Stream stream(socket, listener.tls->new_ssl(&report));
  Deadline deadline(socket.get_executor());
  deadline.arm(listener.settings.handshake_timeout, [&socket] { socket.cancel(); });
  auto ec = co_await stream.handshake();
  deadline.disarm();
  rec.handshake_ms = ms_since(started);
  fill_tls_facts(stream.ssl(), rec);

  const bool optional = listener.tls->verify_optional();
  // A resumed session skipped the verify callback: its certificate meets today's CRL and routes here.
  if (!ec && SSL_session_reused(stream.ssl()) && !listener.tls->recheck_resumed(stream.ssl(), &report) && !optional)
    ec = std::make_error_code(std::errc::permission_denied);
  const bool accepted = !ec && report.identity && report.authz.allowed && report.verify.reason == gatehouse::Reason::ok;
  if (!ec && !accepted && !optional) {  // fail closed should any handshake ever skip verification
    ec = std::make_error_code(std::errc::protocol_error);
    report.verify = {gatehouse::Reason::protocol_error, "the session was not verified in this handshake", -1, ""};
    report.verify_ran = true;
  }
  if (report.identity) rec.identity = &*report.identity;
  if (report.identity) {  // the routes decided: count it for that route (no label look-up)
    auto& rc = listener.routes_of(worker.index, report.authz.route);
    if (report.authz.allowed && !ec) rc.allowed.add();
    else if (!report.authz.allowed) rc.refused[static_cast<size_t>(report.authz.reason)].add();
  }
  if (ec) {
    explain_handshake_failure(report, stream, ec, deadline.fired(), listener.tls->max_client_cert_size(), rec);
    counters.refused[static_cast<size_t>(rec.reason)].add();
    count_handshake(mine, stream.ssl(), rec.reason, rec.handshake_ms / 1000);
    rec.decision = "deny";
    finish(worker.terminating ? "terminated" : "handshake_failed");
    co_return;
  }
  counters.handshakes_ok.add();

  if (!accepted) {
    // verify = "optional" (http mode): the handshake completed; each request gets a page saying why.
    http::HttpConnection hc{worker, listener, stream, upstream, *live, rec, report.authz.route,
                            refusal_of(stream.ssl(), report, *listener.router), {}, ""};
    rec.reason = hc.refusal->reason;
    rec.detail = report.verify_ran ? report.verify.detail : "the client sent no certificate";
    rec.failed_issuer = report.verify.issuer;
    rec.failed_depth = report.verify.depth;
    rec.decision = "deny";
    counters.refused[static_cast<size_t>(rec.reason)].add();
    count_handshake(mine, stream.ssl(), rec.reason, rec.handshake_ms / 1000);
    live->request_boundaries = true;
    std::string close = co_await http::serve_http(hc);
    if (hc.requests_logged == 0) finish(close);  // no request came: still one line for the connection
    co_return;
  }

  // The handshake verified the chain and authorized the identity on the route it chose.
  count_handshake(mine, stream.ssl(), gatehouse::Reason::ok, rec.handshake_ms / 1000);
  live->ssl = stream.ssl();
  live->request_boundaries = listener.settings.mode == conf::ListenerMode::http;
  live->tunnel = !live->request_boundaries;
  if (generation != worker.generation) revalidate(worker, *live);  // verified under an older snapshot
  const tls::PeerIdentity& identity = *report.identity;
  const int route = report.authz.route;
  rec.route = listener.router->routes()[route].name;
  rec.rule = report.authz.rule;
  rec.decision = "allow";
  const UpstreamRuntime& up = *listener.route_upstreams[route];
  rec.upstream = up.name;
  if (finish_if_ended()) co_return;  // max_connection_age in the handshake, or a reload's verdict
  std::string preface = listener.settings.proxy_protocol == conf::ProxyProtocol::v2
                            ? proxy_v2_preface(stream.ssl(), &identity, client, socket, counters)
                            : "";

  if (listener.settings.mode == conf::ListenerMode::http) {
    http::HttpConnection hc{worker, listener, stream, upstream, *live, rec, route, std::nullopt,
                            forward_facts(stream.ssl(), report, client), std::move(preface)};
    std::string close = co_await http::serve_http(hc);
    if (!finish_if_ended() && hc.requests_logged == 0) finish(close);
    co_return;
  }

  if (up.endpoints.front().kind == Endpoint::Kind::builtin_whoami) {
    rec.endpoint = up.endpoints.front().label;
    WhoamiResult r = co_await serve_whoami(stream, identity, listener.settings.idle_timeout);
    rec.bytes_client_to_upstream = r.bytes_in;
    rec.bytes_upstream_to_client = r.bytes_out;
    if (!finish_if_ended()) finish(worker.terminating ? "terminated" : r.close);
    co_return;
  }

  UpstreamLink link(worker, upstream);
  auto opened = co_await link.open(up, preface);
  if (!opened.ok) {
    rec.reason = gatehouse::Reason::upstream_unavailable;
    rec.detail = opened.detail;
    counters.refused[static_cast<size_t>(gatehouse::Reason::upstream_unavailable)].add();
    co_await stream.close_send();
    if (!finish_if_ended()) finish(worker.terminating ? "terminated" : opened.close);
    co_return;
  }
  rec.endpoint = opened.endpoint;
  SpliceResult spliced = co_await splice(stream, link, listener.settings.idle_timeout, mine, worker.terminating);
  rec.bytes_client_to_upstream = spliced.client_to_upstream;
  rec.bytes_upstream_to_client = spliced.upstream_to_client;
  if (!finish_if_ended()) finish(spliced.close);
}

}  // namespace gatehouse::proxy
