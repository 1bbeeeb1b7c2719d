#include "proxy/connection.hpp"

#include <asio/this_coro.hpp>
#include <ctime>

#include "common/deadline.hpp"
#include "proxy/connection_scope.hpp"
#include "proxy/http/http_session.hpp"
#include "proxy/http/refusal_page.hpp"
#include "proxy/lingering_close.hpp"
#include "proxy/proxy_header_reader.hpp"
#include "proxy/proxy_protocol.hpp"
#include "proxy/revalidation.hpp"
#include "proxy/splice.hpp"
#include "proxy/upstream_link.hpp"
#include "proxy/whoami.hpp"
#include "tls/server_connection.hpp"

namespace gatehouse::proxy {
namespace {

static_assert(kProxyTlvCount == metrics::kProxyTlvSlots);

// The facts an http-mode upstream is given about this client: its certificate and the path its
// verification built, never the other certificates it sent (anyone can append any certificate).
http::ForwardFacts forward_facts(const tls::Verdict& verdict, const tls::SessionFacts& session,
                                 const asio::ip::tcp::endpoint& client) {
  http::ForwardFacts facts;
  facts.identity = verdict.identity();
  facts.client_ip = client.address().to_string();
  facts.leaf_der = session.leaf_der;
  if (verdict.chain_der) facts.chain_der = *verdict.chain_der;
  if (session.credential && !session.credential->uri.empty()) facts.by = session.credential->uri.front();
  return facts;
}

// A verdict on the certificate, told with an alert to a client that may be writing already (see
// lingering_close). Not after a timeout or a hang-up: that client is silent or gone.
bool refused_with_an_alert(Reason reason) {
  switch (reason) {
    case Reason::ok:
    case Reason::handshake_timeout:
    case Reason::protocol_error:
    case Reason::server_not_trusted:
    case Reason::client_closed:
    case Reason::server_closed:
    case Reason::upstream_unavailable:
    case Reason::name_mismatch:
      return false;
    default:
      return true;
  }
}

// What the client is told with verify = "optional": the reason and the facts of the certificate it sent.
http::Refusal refusal_of(const tls::Verdict& verdict, const ListenerRuntime& listener, const ConnectionRecord& record) {
  http::Refusal r;
  r.reason = verdict.reason;
  // The page names what the tester opened; the route's name (often "route0") is for the log.
  if (!record.sni.empty())
    r.route = record.sni;
  else if (verdict.route >= 0)
    r.route = listener.router->routes()[static_cast<size_t>(verdict.route)].name;
  r.contact = listener.settings.http.contact;
  r.reference = http::refusal_reference(std::time(nullptr), record.id);
  if (verdict.presented) {
    r.issuer = verdict.presented->issuer;
    r.not_before = verdict.presented->not_before;
    r.not_after = verdict.presented->not_after;
  }
  return r;
}

std::string proxy_v2_preface(const tls::Verdict& verdict, const tls::SessionFacts& session,
                             const asio::ip::tcp::endpoint& client, const asio::ip::tcp::socket& socket,
                             metrics::WorkerCounters& counters) {
  ProxyV2Info info;
  info.source = client;
  asio::error_code ec;
  info.destination = socket.local_endpoint(ec);
  const bool has_cert = !session.leaf_der.empty();
  info.cert_in_session = has_cert;
  info.cert_on_connection = has_cert && !session.resumed;
  info.verify = verdict.identity() ? 0 : 1;
  info.version = session.version;
  if (verdict.identity()) info.cn = verdict.identity()->cn;
  info.cipher = session.cipher_openssl;
  if (session.credential) {
    info.sig_alg = session.credential->sig_alg;
    info.key_alg = session.credential->key_alg;
  }
  info.client_cert_der = session.leaf_der;
  info.authority = session.sni;
  info.alpn = session.alpn;
  std::vector<ProxyTlv> dropped;
  std::string header = encode_proxy_v2(info, dropped);
  for (ProxyTlv tlv : dropped) counters.proxy_tlv_dropped[static_cast<std::size_t>(tlv)].add();
  return header;
}

// verify = "optional" (http mode): the handshake completed for a client that was not admitted;
// each of its requests gets a page saying why.
asio::awaitable<void> serve_refusal_pages(WorkerContext& worker, const SnapshotState& state,
                                          const ListenerRuntime& listener, ConnectionScope& scope,
                                          tls::ServerConnection& tls, asio::ip::tcp::socket& upstream,
                                          const tls::Verdict& verdict) {
  http::HttpConnection hc{worker,
                          listener,
                          tls.stream(),
                          upstream,
                          scope.member(),
                          scope.record(),
                          verdict.route,
                          refusal_of(verdict, listener, scope.record()),
                          {},
                          "",
                          &state};
  scope.member().set_phase(Phase::request);
  const Close close = co_await http::serve_http(hc);
  scope.lines_written_by_requests(hc.requests_logged);
  scope.finish(close, hc.close_detail);
}

// tcp mode: the route's upstream (or the built-in whoami), then bytes both ways.
asio::awaitable<void> serve_tunnel(WorkerContext& worker, const SnapshotState& state, const ListenerRuntime& listener,
                                   ConnectionScope& scope, tls::ServerConnection& tls, asio::ip::tcp::socket& upstream,
                                   const UpstreamRuntime& up, const tls::Verdict& verdict, const std::string& preface) {
  ConnectionRecord& rec = scope.record();
  if (up.endpoints.front().kind == Endpoint::Kind::builtin_whoami) {
    rec.endpoint = up.endpoints.front().label;
    WhoamiResult r =
        co_await serve_whoami(tls.stream(), *verdict.identity(), tls.facts(), listener.settings.idle_timeout);
    rec.bytes_client_to_upstream = r.bytes_in;
    rec.bytes_upstream_to_client = r.bytes_out;
    scope.finish(r.close);
    co_return;
  }
  UpstreamLink link(worker, upstream);
  auto opened = co_await link.open(up, state.upstreams[up.index], preface);
  if (!opened.ok) {
    scope.upstream_unavailable(opened.detail);
    co_await tls.stream().close_send();
    scope.finish(opened.close);
    co_return;
  }
  rec.endpoint = opened.endpoint;
  SpliceResult spliced =
      co_await splice(tls.stream(), link, listener.settings.idle_timeout, worker.listener(listener.index));
  rec.bytes_client_to_upstream = spliced.client_to_upstream;
  rec.bytes_upstream_to_client = spliced.upstream_to_client;
  scope.finish(spliced.close, spliced.detail);
}

}  // namespace

// `snapshot` is only held: it keeps `listener` alive for this connection, whatever a reload does.
asio::awaitable<void> serve_connection(WorkerContext& worker, ConnectionMember& member,
                                       [[maybe_unused]] std::shared_ptr<const Snapshot> snapshot,
                                       std::shared_ptr<const SnapshotState> state, std::uint64_t generation,
                                       const ListenerRuntime& listener, asio::ip::tcp::socket socket,
                                       asio::ip::tcp::endpoint client) {
  // Cancelled by the member's signal, an awaited operation returns operation_aborted, which each
  // step handles: never an exception. Every kind of cancellation is let through.
  co_await asio::this_coro::throw_if_cancelled(false);
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  asio::ip::tcp::socket upstream(socket.get_executor());
  // Declared before the scope, which points into it for its log line: the scope's destructor
  // may still write that line (a frame destroyed while suspended) and must not read a dead verdict.
  tls::Verdict verdict;
  ConnectionScope scope(worker, member, *state, listener, client);
  // Armed from accept; gone before the scope is (declared after it).
  Deadline age(socket.get_executor());
  if (const auto max_age = listener.settings.max_connection_age; max_age.count() > 0)
    age.arm(max_age, [&worker, &member, max_age] { reach_max_age(worker, member, max_age); });

  // 1. The PROXY header in front of TLS, when a load balancer sends one.
  if (!listener.settings.accept_proxy_protocol.empty()) {
    auto header = co_await read_proxy_header(socket, listener.settings.accept_proxy_protocol,
                                             listener.settings.handshake_timeout);
    if (header.nothing_came) {  // told as the handshake tells a client that left or stayed silent
      verdict.reason = *header.nothing_came;
      verdict.detail = header.error;
      scope.handshake_done(verdict, tls::SessionFacts{});
      co_return scope.finish(Close::handshake_failed);
    }
    if (!header.ok) {
      scope.refuse_proxy_header(header.error);
      co_return scope.finish(Close::proxy_header_refused);
    }
    if (header.client) {
      scope.client_via_proxy(*header.client);
      client = *header.client;
    }
  }

  // 2. The handshake, and its one verdict on the client.
  tls::ServerConnection tls(*listener.tls, socket);
  verdict = co_await tls.handshake(listener.settings.handshake_timeout);
  scope.handshake_done(verdict, tls.facts());
  if (!verdict.allowed()) {
    if (tls.facts().completed && listener.tls->verify_optional())
      co_return co_await serve_refusal_pages(worker, *state, listener, scope, tls, upstream, verdict);
    if (refused_with_an_alert(verdict.reason)) co_await lingering_close(socket);
    co_return scope.finish(Close::handshake_failed);
  }

  // 3. Admitted on the route the handshake chose; checked again if a reload came meanwhile.
  member.ssl = tls.session();
  member.rules = &listener.router->routes()[static_cast<size_t>(verdict.route)].policy;
  member.set_phase(listener.settings.mode == conf::ListenerMode::http ? Phase::request : Phase::tunnel);
  if (generation != worker.generation) revalidate(worker, member);
  const UpstreamRuntime& up = *listener.route_upstreams[static_cast<size_t>(verdict.route)];
  scope.admit(listener.router->routes()[static_cast<size_t>(verdict.route)].name, up.name);
  if (scope.ended_by_gatehouse()) co_return scope.finish(Close::done);
  const std::string preface = listener.settings.proxy_protocol == conf::ProxyProtocol::v2
                                  ? proxy_v2_preface(verdict, tls.facts(), client, socket, worker.counters)
                                  : "";

  // 4. The upstream: one exchange per request (http mode) or a tunnel (tcp mode).
  if (listener.settings.mode == conf::ListenerMode::http) {
    http::HttpConnection hc{worker,        listener,     tls.stream(),
                            upstream,      member,       scope.record(),
                            verdict.route, std::nullopt, forward_facts(verdict, tls.facts(), client),
                            preface,       state.get()};
    hc.generation = generation;
    const Close close = co_await http::serve_http(hc);
    scope.lines_written_by_requests(hc.requests_logged);
    co_return scope.finish(close, hc.close_detail);
  }
  co_await serve_tunnel(worker, *state, listener, scope, tls, upstream, up, verdict, preface);
}

}  // namespace gatehouse::proxy
