#include "proxy/connection.hpp"

#include <chrono>

#include "proxy/deadline.hpp"
#include "proxy/splice.hpp"
#include "proxy/upstream_connect.hpp"
#include "proxy/whoami.hpp"
#include "tls/stream.hpp"

namespace gatehouse::proxy {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string peer_text(const asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

// Why a handshake failed, in the closed list of reasons, with plain words.
void explain_handshake_failure(const tls::HandshakeReport& report, const tls::Stream& stream, const asio::error_code& ec,
                               bool timed_out, ConnectionRecord& rec) {
  if (report.verify_ran && report.verify.reason != tls::Reason::ok) {
    rec.reason = report.verify.reason;
    rec.rule = report.authz.rule;
    rec.detail = report.verify.detail;
    rec.failed_issuer = report.verify.issuer;
    rec.failed_depth = report.verify.depth;
    return;
  }
  uint32_t code = stream.last_error_code();
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    rec.reason = tls::Reason::no_certificate;
    rec.detail = "the client sent no certificate";
    return;
  }
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_KEY_USAGE_BIT_INCORRECT) {
    // TLS 1.3 checks this before our verifier runs: typically a CA certificate used as a client's.
    rec.reason = tls::Reason::wrong_usage;
    rec.detail = "the client certificate's key usage does not allow signing (no digitalSignature); "
                 "is it a CA certificate?";
    return;
  }
  if (timed_out) {
    rec.reason = tls::Reason::handshake_timeout;
    rec.detail = "the handshake did not finish within handshake_timeout";
    return;
  }
  rec.reason = tls::Reason::protocol_error;
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

}  // namespace

// `snapshot` is only held: it keeps `listener` alive for this connection, whatever a reload does.
asio::awaitable<void> serve_connection(WorkerContext& worker, [[maybe_unused]] std::shared_ptr<const Snapshot> snapshot,
                                       const ListenerRuntime& listener, asio::ip::tcp::socket socket) {
  const auto started = Clock::now();
  auto& counters = worker.counters;
  counters.connections_total.add();
  counters.connections_active.add();
  asio::ip::tcp::socket upstream(socket.get_executor());
  auto live = worker.live.insert(worker.live.end(), LiveSockets{&socket, &upstream});
  struct Cleanup {
    WorkerContext& w;
    std::list<LiveSockets>::iterator it;
    ~Cleanup() {
      w.live.erase(it);
      w.counters.connections_active.sub();
    }
  } cleanup{worker, live};

  ConnectionRecord rec;
  rec.listener = listener.settings.name;
  rec.client = peer_text(socket);
  asio::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);

  tls::HandshakeReport report;
  tls::Stream stream(socket, listener.tls->new_ssl(&report));
  Deadline deadline(socket.get_executor());
  deadline.arm(listener.settings.handshake_timeout, [&socket] { socket.cancel(); });
  auto ec = co_await stream.handshake();
  deadline.disarm();
  rec.handshake_ms = ms_since(started);
  fill_tls_facts(stream.ssl(), rec);

  auto finish = [&](std::string close) {
    rec.close = std::move(close);
    rec.duration_ms = ms_since(started);
    worker.access_log.write(rec);
  };
  // A resumed session skipped the verify callback: its certificate meets today's CRL and routes here.
  if (!ec && SSL_session_reused(stream.ssl()) && !listener.tls->recheck_resumed(stream.ssl(), &report))
    ec = std::make_error_code(std::errc::permission_denied);
  if (!ec && !report.identity) {  // fail closed should any handshake ever skip verification
    ec = std::make_error_code(std::errc::protocol_error);
    report.verify = {tls::Reason::protocol_error, "the session was not verified in this handshake", -1, ""};
    report.verify_ran = true;
  }
  if (report.identity) rec.identity = &*report.identity;
  if (report.identity) {  // the routes decided: count it for that route (no label look-up)
    auto& rc = worker.route_counters(listener.index, report.authz.route, listener.router->routes().size());
    if (report.authz.allowed && !ec) rc.allowed.add();
    else if (!report.authz.allowed) rc.refused[static_cast<size_t>(report.authz.reason)].add();
  }
  if (ec) {
    explain_handshake_failure(report, stream, ec, deadline.fired(), rec);
    counters.refused[static_cast<size_t>(rec.reason)].add();
    rec.decision = "deny";
    finish(worker.terminating ? "terminated" : "handshake_failed");
    co_return;
  }
  counters.handshakes_ok.add();

  // The handshake verified the chain and authorized the identity on the route it chose.
  const tls::PeerIdentity& identity = *report.identity;
  const int route = report.authz.route;
  rec.route = listener.router->routes()[route].name;
  rec.rule = report.authz.rule;
  rec.decision = "allow";
  const UpstreamRuntime& up = *listener.route_upstreams[route];
  rec.upstream = up.name;

  if (up.endpoints.front().kind == Endpoint::Kind::builtin_whoami) {
    rec.endpoint = up.endpoints.front().label;
    WhoamiResult r = co_await serve_whoami(stream, identity, listener.settings.idle_timeout);
    rec.bytes_client_to_upstream = r.bytes_in;
    rec.bytes_upstream_to_client = r.bytes_out;
    finish(worker.terminating ? "terminated" : r.close);
    co_return;
  }

  PoolState& pool = worker.pool(up.index);
  ConnectOutcome connected = co_await connect_upstream(up, pool, worker.index, upstream);
  counters.upstream_connect_failed.add(static_cast<uint64_t>(connected.failed_attempts));
  if (connected.endpoint < 0) {
    // Refused promptly rather than left hanging: no endpoint is healthy, or none answered.
    rec.reason = tls::Reason::upstream_unavailable;
    rec.detail = connected.none_eligible ? "every endpoint of '" + up.name + "' is failing its health check or ejected"
                                         : "no upstream endpoint answered: " + connected.failures;
    counters.refused[static_cast<size_t>(tls::Reason::upstream_unavailable)].add();
    co_await stream.close_send();
    finish(worker.terminating ? "terminated" : "upstream_unreachable");
    co_return;
  }
  counters.upstream_connect_ok.add();
  struct Active {  // by index: the pool's vectors may be rebuilt while this connection lives
    WorkerContext& w;
    size_t upstream, endpoint;
    ~Active() {
      auto& eps = w.pool(upstream).endpoints;
      if (endpoint < eps.size()) --eps[endpoint].active;
    }
  } active{worker, up.index, static_cast<size_t>(connected.endpoint)};
  rec.endpoint = up.endpoints[static_cast<size_t>(connected.endpoint)].label;
  SpliceResult spliced;
  if (up.tls) {
    // Re-encryption: verify the upstream against its own CA and name, maybe with our client cert.
    const Endpoint& ep = up.endpoints[static_cast<size_t>(connected.endpoint)];
    tls::Stream upstream_tls(upstream, up.tls->new_ssl(ep.host));
    deadline.arm(up.settings.connect_timeout, [&upstream] { upstream.cancel(); });
    auto upstream_ec = co_await upstream_tls.handshake();
    deadline.disarm();
    if (upstream_ec) {
      long verify = SSL_get_verify_result(upstream_tls.ssl());
      rec.reason = tls::Reason::upstream_unavailable;
      rec.detail = "TLS to upstream " + ep.label + " failed: " +
                   (verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                    : deadline.fired()  ? std::string("no handshake within connect_timeout")
                                        : upstream_tls.last_error());
      counters.refused[static_cast<size_t>(tls::Reason::upstream_unavailable)].add();
      co_await stream.close_send();
      finish(worker.terminating ? "terminated" : "upstream_tls_failed");
      co_return;
    }
    spliced = co_await splice(stream, upstream_tls, listener.settings.idle_timeout, counters, worker.terminating);
  } else {
    PlainStream plain(upstream);
    spliced = co_await splice(stream, plain, listener.settings.idle_timeout, counters, worker.terminating);
  }
  rec.bytes_client_to_upstream = spliced.client_to_upstream;
  rec.bytes_upstream_to_client = spliced.upstream_to_client;
  finish(spliced.close);
}

}  // namespace gatehouse::proxy
