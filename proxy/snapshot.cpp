#include "proxy/snapshot.hpp"

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <charconv>
#include <map>
#include <thread>

namespace gatehouse::proxy {

size_t worker_count(const conf::ServerSettings& server) {
  return server.workers > 0 ? static_cast<size_t>(server.workers) : std::max(1u, std::thread::hardware_concurrency());
}

namespace {

// "host:port" → host (brackets removed) and port; false with `error` when malformed.
bool split_host_port(const std::string& text, std::string& host, std::string& port_text, std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    error = "'" + text + "' must be host:port (IPv6 as [::1]:port)";
    return false;
  }
  host = text.substr(0, colon);
  port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    error = "'" + port_text + "' in '" + text + "' is not a port number";
    return false;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) {  // the resolver would take it for loopback, and TLS would have no name to check
    error = "'" + text + "' names no host (write 127.0.0.1:" + port_text + " or a name)";
    return false;
  }
  return true;
}

}  // namespace

std::vector<asio::ip::tcp::endpoint> resolve_host_port(const std::string& text, std::string& error) {
  std::string host, port_text;
  if (!split_host_port(text, host, port_text, error)) return {};
  asio::error_code aec;
  auto ip = asio::ip::make_address(host, aec);
  if (!aec) return {asio::ip::tcp::endpoint(ip, static_cast<uint16_t>(std::stoi(port_text)))};
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(host, port_text, aec);
  if (aec) {
    error = "cannot resolve '" + host + "': " + aec.message();
    return {};
  }
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto& r : results) out.push_back(r.endpoint());
  return out;
}

namespace {

void build_upstream(const conf::UpstreamSettings& u, const std::string& file, conf::Diagnostics& problems,
                    UpstreamRuntime& out) {
  out.name = u.name;
  out.settings = u;
  for (const auto& text : u.endpoints) {
    // Members set one by one: GCC 12 warns (falsely) about the shared_ptr a designated initializer skips.
    Endpoint ep;
    ep.label = text;
    if (text == "builtin:whoami") {
      ep.kind = Endpoint::Kind::builtin_whoami;
      out.endpoints.push_back(std::move(ep));
      continue;
    }
    if (text.starts_with("builtin:")) {
      problems.add(file, u.endpoints_source, "unknown built-in upstream '" + text + "' (known: builtin:whoami)");
      continue;
    }
    std::string error;
    if (!split_host_port(text, ep.host, ep.port, error)) {
      problems.add(file, u.endpoints_source, error);
      continue;
    }
    asio::error_code not_ip;
    asio::ip::make_address(ep.host, not_ip);
    ep.by_name = static_cast<bool>(not_ip);
    // A name is resolved once here so serving starts at once; the upstream monitor keeps it fresh.
    auto addresses = resolve_host_port(text, error);
    if (addresses.empty())
      problems.warn(file, u.endpoints_source, error + "; Gatehouse retries every resolve_interval");
    ep.resolved = Resolution::now(std::move(addresses));
    out.endpoints.push_back(std::move(ep));
  }
  if (u.tls) out.tls = tls::ClientContext::create(*u.tls, u.protocol, file, problems);
  bool builtin = std::any_of(out.endpoints.begin(), out.endpoints.end(),
                             [](const Endpoint& e) { return e.kind != Endpoint::Kind::tcp; });
  if (builtin && u.endpoints.size() > 1)
    problems.add(file, u.endpoints_source,
                 "builtin:whoami is an upstream of its own; do not mix it with other endpoints");
}

// Route i's upstream at index i, for every route: a name that finds no upstream is a problem
// (the snapshot is not built), never a skipped entry that would shift the routes after it.
std::vector<const UpstreamRuntime*> upstreams_of_routes(
    const conf::ListenerSettings& l, const std::map<std::string, const UpstreamRuntime*, std::less<>>& by_name,
    const std::string& file, conf::Diagnostics& problems) {
  std::vector<const UpstreamRuntime*> out;
  out.reserve(l.routes.size());
  for (const auto& route : l.routes) {
    auto it = by_name.find(route.upstream);
    if (it == by_name.end()) {
      conf::Source where = route.source;
      where.key_path += ".upstream";
      problems.add(file, where,
                   route.upstream.empty() ? "route '" + route.name + "' names no upstream"
                                          : "no [[upstream]] is named '" + route.upstream + "'");
    }
    out.push_back(it == by_name.end() ? nullptr : it->second);
  }
  return out;
}

// The ring of the listener of that name in the snapshot being replaced, unless its rotation
// period changed; a new one otherwise. No registry: a second server never sees this one's keys.
std::shared_ptr<tls::TicketKeyRing> ticket_ring(const conf::ListenerSettings& l, const Snapshot* previous) {
  if (l.tls.ticket_keys) return nullptr;
  const std::int64_t period = l.tls.ticket_rotation.count() / 1000;
  if (previous)
    for (const auto& p : previous->listeners)
      if (p.settings.name == l.name && p.ticket_ring && p.ticket_ring->period() == period) return p.ticket_ring;
  return tls::TicketKeyRing::make(period);
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(const conf::Settings& settings, conf::Diagnostics& problems,
                                               const Snapshot* previous) {
  auto snap = std::make_shared<Snapshot>();
  snap->settings = settings;
  const std::string file = settings.config_file.empty() ? "<embedded default>" : settings.config_file.string();
  size_t before = problems.problems().size();

  snap->upstreams.resize(settings.upstreams.size());
  for (size_t i = 0; i < settings.upstreams.size(); ++i) {
    auto& up = snap->upstreams[i];
    up.index = i;
    build_upstream(settings.upstreams[i], file, problems, up);
  }

  std::map<std::string, const UpstreamRuntime*, std::less<>> upstreams_by_name;
  for (const auto& up : snap->upstreams) {
    if (up.name.empty())
      problems.add(file, up.settings.endpoints_source, "an upstream needs a name that routes can refer to");
    else if (!upstreams_by_name.emplace(up.name, &up).second)
      problems.add(file, up.settings.endpoints_source, "upstream name '" + up.name + "' is used twice");
  }
  for (const auto& l : settings.listeners) {
    ListenerRuntime rt;
    rt.index = snap->listeners.size();
    rt.settings = l;
    std::string error;
    auto addresses = resolve_host_port(l.listen, error);
    if (addresses.empty())
      problems.add(file, l.listen_source, error);
    else
      rt.address = addresses.front();
    if (auto router = policy::Router::compile(l.routes, file, problems))
      rt.router = std::make_unique<policy::Router>(std::move(*router));
    rt.route_upstreams = upstreams_of_routes(l, upstreams_by_name, file, problems);
    if (rt.router && rt.router->routes().size() != rt.route_upstreams.size())
      problems.add(file, l.listen_source,
                   "listener '" + l.name + "': " + std::to_string(rt.router->routes().size()) + " routes but " +
                       std::to_string(rt.route_upstreams.size()) + " upstreams");
    rt.ticket_ring = ticket_ring(l, previous);
    // http mode reads the requests itself: a client offering only h2 may still speak HTTP/1.1.
    // In tcp mode the upstream speaks what we offer, so another protocol is refused (RFC 7301).
    tls::AlpnPolicy alpn(
        l.alpn, l.mode == conf::ListenerMode::http ? tls::AlpnMismatch::continue_without : tls::AlpnMismatch::refuse);
    rt.tls = tls::ServerContext::create(l.tls, file, rt.router.get(), std::move(alpn), rt.ticket_ring, problems);
    snap->listeners.push_back(std::move(rt));
  }
  if (problems.problems().size() != before) return nullptr;
  return snap;
}

}  // namespace gatehouse::proxy
