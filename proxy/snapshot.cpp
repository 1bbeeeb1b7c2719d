#include "proxy/snapshot.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <algorithm>
#include <charconv>

namespace gatehouse::proxy {

std::vector<asio::ip::tcp::endpoint> resolve_host_port(const std::string& text, std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    error = "'" + text + "' must be host:port (IPv6 as [::1]:port)";
    return {};
  }
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    error = "'" + port_text + "' in '" + text + "' is not a port number";
    return {};
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  asio::error_code aec;
  auto ip = asio::ip::make_address(host, aec);
  if (!aec) return {asio::ip::tcp::endpoint(ip, static_cast<uint16_t>(port))};
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
    if (text == "builtin:whoami") {
      out.endpoints.push_back({Endpoint::Kind::builtin_whoami, {}, text});
      continue;
    }
    if (text.starts_with("builtin:")) {
      problems.add(file, u.endpoints_source, "unknown built-in upstream '" + text + "' (known: builtin:whoami)");
      continue;
    }
    std::string error;
    auto addresses = resolve_host_port(text, error);
    if (addresses.empty()) problems.add(file, u.endpoints_source, error);
    std::string host = text.substr(0, text.rfind(':'));
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    for (const auto& a : addresses) out.endpoints.push_back({Endpoint::Kind::tcp, a, text, host});
  }
  if (u.tls) out.tls = tls::ClientContext::create(*u.tls, file, problems);
  bool builtin = std::any_of(out.endpoints.begin(), out.endpoints.end(),
                             [](const Endpoint& e) { return e.kind != Endpoint::Kind::tcp; });
  if (builtin && u.endpoints.size() > 1)
    problems.add(file, u.endpoints_source, "builtin:whoami is an upstream of its own; do not mix it with other endpoints");
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(const conf::Settings& settings, conf::Diagnostics& problems) {
  auto snap = std::make_shared<Snapshot>();
  snap->settings = settings;
  const std::string file = settings.config_file.empty() ? "<embedded default>" : settings.config_file.string();
  size_t before = problems.problems().size();

  snap->upstreams.resize(settings.upstreams.size());
  for (size_t i = 0; i < settings.upstreams.size(); ++i) {
    snap->upstreams[i].index = i;
    build_upstream(settings.upstreams[i], file, problems, snap->upstreams[i]);
  }

  for (const auto& l : settings.listeners) {
    ListenerRuntime rt;
    rt.settings = l;
    std::string error;
    auto addresses = resolve_host_port(l.listen, error);
    if (addresses.empty()) problems.add(file, l.listen_source, error);
    else rt.address = addresses.front();
    if (auto router = policy::Router::compile(l.routes, file, problems))
      rt.router = std::make_unique<policy::Router>(std::move(*router));
    for (const auto& route : l.routes)
      for (const auto& up : snap->upstreams)
        if (up.name == route.upstream) rt.route_upstreams.push_back(&up);
    rt.tls = tls::ServerContext::create(l.tls, file, rt.router.get(), problems);
    snap->listeners.push_back(std::move(rt));
  }
  if (problems.problems().size() != before) return nullptr;
  return snap;
}

}  // namespace gatehouse::proxy
