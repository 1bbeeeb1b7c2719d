#include "proxy/http/http_session.hpp"

#include <ctime>

#include "proxy/h2/session.hpp"
#include "proxy/http/request_loop.hpp"
#include "proxy/splice.hpp"
#include "proxy/upstream_link.hpp"

namespace gatehouse::proxy::http {
namespace {

// The route's upstream as the exchanges see it: one UpstreamLink, kept across requests while the
// upstream keeps it alive, opened again when it went stale. Forwards without a coroutine frame.
class LinkUpstream {
 public:
  LinkUpstream(WorkerContext& worker, asio::ip::tcp::socket& socket, const UpstreamRuntime* upstream,
               const SnapshotState* state, const std::string& preface, std::uint64_t generation,
               std::uint64_t owner)
      : worker_(worker),
        link_(worker, socket),
        socket_(socket),
        upstream_(upstream),
        state_(state),
        preface_(preface),
        generation_(generation),
        owner_(owner) {}

  // Where requests go when the upstream speaks HTTP/2 (a stream each, on shared connections).
  std::optional<h2::MuxTarget> http2() const {
    if (!upstream_ || !state_ || !conf::is_http2(upstream_->settings.protocol)) return std::nullopt;
    return h2::MuxTarget{worker_, *upstream_, state_->upstreams[upstream_->index], preface_, generation_, owner_};
  }

  bool is_open() const { return link_.is_open(); }
  bool stale() { return http::stale(socket_); }
  void close() { link_.close(); }
  asio::awaitable<UpstreamLink::Opened> open() {
    if (!upstream_ || !state_) return no_upstream();
    return link_.open(*upstream_, state_->upstreams[upstream_->index], preface_);
  }
  UpstreamLink& stream() { return link_; }
  asio::awaitable<SpliceResult> tunnel(tls::Stream& client, conf::Duration idle, metrics::ListenerCounters& counters) {
    return splice(client, link_, idle, counters);
  }

 private:
  // A connection whose SNI chose no route has no upstream; its checks never let a request through.
  static asio::awaitable<UpstreamLink::Opened> no_upstream() {
    co_return UpstreamLink::Opened{false, "", Close::upstream_unreachable, "this route has no upstream"};
  }

  WorkerContext& worker_;
  UpstreamLink link_;
  asio::ip::tcp::socket& socket_;
  const UpstreamRuntime* upstream_;
  const SnapshotState* state_;  // this worker's pools and counters for the snapshot
  const std::string& preface_;
  std::uint64_t generation_;
  std::uint64_t owner_;
};

const UpstreamRuntime* route_upstream(const HttpConnection& c) {
  const auto& all = c.listener.route_upstreams;
  const auto route = static_cast<std::size_t>(c.route);
  return c.route >= 0 && route < all.size() ? all[route] : nullptr;
}

}  // namespace

asio::awaitable<Close> serve_http(HttpConnection& c) {
  const conf::HttpSettings& http = c.listener.settings.http;
  const UpstreamRuntime* up = route_upstream(c);
  const std::string* whoami = nullptr;
  if (up && up->endpoints.front().kind == Endpoint::Kind::builtin_whoami) whoami = &up->endpoints.front().label;
  LinkUpstream upstream(c.worker, c.upstream_socket, up, c.state, c.proxy_preface, c.generation,
                        h2::owner_of(c.member));
  // The rules with path/methods that this identity's requests are judged by, picked once here.
  policy::RequestGate gate;
  const auto& routes = c.listener.router->routes();
  if (!c.refusal && c.facts.identity && c.route >= 0 && static_cast<std::size_t>(c.route) < routes.size()) {
    const auto& route = routes[static_cast<std::size_t>(c.route)];
    gate = route.policy.gate(*c.facts.identity);
    c.denied.route = c.connection.sni.empty() ? route.name : c.connection.sni;
    c.denied.contact = http.contact;
    c.denied.reference = refusal_reference(std::time(nullptr), c.connection.id);
  }
  const SessionFacts facts{
      c.worker,
      c.member,
      http,
      c.listener.settings.idle_timeout,
      c.worker.listener(c.listener.index),
      c.connection,
      c.facts,
      {http, *c.listener.router, c.route, c.connection.sni, c.refusal, gate.needed() ? &gate : nullptr, &c.denied},
      whoami,
      c.requests_logged,
      c.state && c.route >= 0 ? &c.state->route(c.listener.index, c.route) : nullptr};
  if (c.connection.alpn == "h2")  // the protocol ALPN chose
    co_return co_await h2::serve_h2(c.client, facts, {up, c.state, c.proxy_preface, c.generation}, c.close_detail);
  const Close close = co_await serve_requests(c.client, upstream, facts);
  // HTTP/2 upstream connections that name this client (PROXY v2) serve nobody else: they close.
  if (!c.proxy_preface.empty()) c.worker.h2_upstreams.release_owner(h2::owner_of(c.member));
  co_return close;
}

}  // namespace gatehouse::proxy::http
