#include "conf/parse.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include "conf/alpn.hpp"
#include "conf/network.hpp"
#include "conf/parse_http.hpp"
#include "conf/table_reader.hpp"

namespace gatehouse::conf {
namespace {

constexpr const char* kRuleFields[] = {"cn", "o",      "ou",     "dns",         "email", "uri",
                                       "ip", "serial", "issuer", "fingerprint", "spki"};

TlsVersion to_version(const std::string& s) { return s == "1.3" ? TlsVersion::v1_3 : TlsVersion::v1_2; }

// Calls `each` with a reader for every table of an array of tables ([[listener]]).
template <typename Fn>
void for_each_table(TableReader& parent, std::string_view key, Fn&& each) {
  const auto* arr = parent.array(key);
  if (!arr) return;
  for (size_t i = 0; i < arr->size(); ++i) {
    std::string path = parent.path_of(key) + "[" + std::to_string(i) + "]";
    const auto* t = (*arr)[i].as_table();
    if (!t) {
      parent.error_at((*arr)[i], path, "expected a table");
      continue;
    }
    TableReader reader(*t, path, parent.context());
    each(reader, i);
  }
}

void read_server(TableReader& r, ServerSettings& s) {
  if (auto v = r.integer("workers", 0, 1024)) s.workers = static_cast<int>(*v);
  if (auto v = r.integer("max_connections", 1, 10'000'000)) s.max_connections = *v;
  if (auto v = r.duration("drain_timeout")) s.drain_timeout = *v;
  if (auto v = r.integer("verified_cache", 0, 10'000'000)) s.verified_cache = *v;
  if (auto v = r.boolean("watch")) s.watch = *v;
}

void read_log(TableReader& r, LogSettings& s) {
  if (auto v = r.string("access")) {
    if (v->empty()) r.error("access", "use \"stdout\", \"off\" or a file path");
    s.access = *v;
    if (s.access != "stdout" && s.access != "off") {
      std::filesystem::path p(s.access);
      if (p.is_relative()) s.access = (r.context().base_dir / p).lexically_normal().string();
    }
  }
  if (auto v = r.choice("level", {"trace", "debug", "info", "warn", "error"})) s.level = *v;
}

void read_tls(TableReader& r, TlsSettings& tls) {
  r.require("certificates");
  r.require("client_ca");
  size_t entries = 0;
  for_each_table(r, "certificates", [&](TableReader& c, size_t) {
    ++entries;
    c.require("cert");
    c.require("key");
    auto cert = c.file("cert");
    auto key = c.file("key");
    if (cert && key) tls.certificates.push_back({*cert, *key});
  });
  if (r.has("certificates") && entries == 0) r.error("certificates", "needs at least one { cert = ..., key = ... }");
  if (auto v = r.choice("min_version", {"1.2", "1.3"})) tls.min_version = to_version(*v);
  if (auto v = r.choice("max_version", {"1.2", "1.3"})) tls.max_version = to_version(*v);
  if (tls.min_version > tls.max_version) r.error("min_version", "min_version is above max_version");
  if (auto v = r.file("client_ca")) tls.client_ca = *v;
  if (auto v = r.file("client_intermediates")) tls.client_intermediates = *v;
  if (auto v = r.file("crl")) tls.crl = *v;
  if (auto v = r.choice("crl_stale", {"reject", "warn"})) tls.crl_stale_reject = *v == "reject";
  if (auto v = r.boolean("session_tickets")) tls.session_tickets = *v;
  if (auto v = r.file("ticket_keys")) tls.ticket_keys = *v;
  if (auto v = r.duration("ticket_rotation")) {
    if (*v < std::chrono::minutes(1) || *v > std::chrono::hours(24 * 7))
      r.error("ticket_rotation", "use a period from \"1m\" to \"7d\"");
    else if (tls.ticket_keys)
      r.error("ticket_rotation",
              "ticket_keys are rotated by replacing the file (and reloading); "
              "ticket_rotation is for the keys Gatehouse makes without it");
    else
      tls.ticket_rotation = *v;
  }
  if (auto v = r.choice("verify", {"require", "optional"}))
    tls.verify = *v == "optional" ? VerifyMode::optional : VerifyMode::require;
  if (auto v = r.integer("verify_depth", 0, 16)) tls.verify_depth = static_cast<int>(*v);
  if (auto v = r.integer("max_client_cert_size", 1024, 1024 * 1024)) tls.max_client_cert_size = *v;
}

// `allow = [ { ou = "testers" }, { uri = "spiffe://corp/ci/*" } ]`: each rule a table of strings,
// plus `path` and `methods`, which only an http listener can judge (they need a request).
std::vector<RuleSettings> read_rules(TableReader& r, std::string_view key, ListenerMode mode) {
  std::vector<RuleSettings> rules;
  for_each_table(r, key, [&](TableReader& rule, size_t) {
    RuleSettings out;
    out.source = rule.source();
    for (const char* field : kRuleFields) {
      if (!rule.has(field)) continue;
      if (auto v = rule.string(field)) out.fields.emplace_back(field, *v);
    }
    for (const char* field : {"path", "methods"}) {
      if (!rule.has(field)) continue;
      auto values = rule.string_or_strings(field);
      if (!values) continue;
      if (values->empty())
        rule.error(field, "an empty list would match no request; leave the key out to match every request");
      else if (mode != ListenerMode::http)
        rule.error(field, std::string(field) +
                              " needs mode = \"http\": a tcp listener never sees a request, so it cannot judge one");
      (std::string_view(field) == "path" ? out.paths : out.methods) = *values;
    }
    if (out.fields.empty() && !out.has_request_conditions())
      rule.context().diagnostics.add(rule.context().file, out.source,
                                     "an empty rule would match everyone; name at least one field");
    rules.push_back(std::move(out));
  });
  return rules;
}

void read_listener(TableReader& r, size_t index, ListenerSettings& l) {
  l.name = r.string("name").value_or("listener" + std::to_string(index));
  r.require("listen");
  if (auto v = r.string("listen")) {
    l.listen = *v;
    l.listen_source = r.source_of("listen");
  }
  if (auto v = r.choice("mode", {"tcp", "http"})) l.mode = *v == "http" ? ListenerMode::http : ListenerMode::tcp;
  if (auto v = r.choice("proxy_protocol", {"off", "v2"}))
    l.proxy_protocol = *v == "v2" ? ProxyProtocol::v2 : ProxyProtocol::off;
  if (auto nets = r.strings("accept_proxy_protocol")) {
    for (const auto& n : *nets) {
      if (auto net = parse_network(n))
        l.accept_proxy_protocol.push_back(*net);
      else
        r.error("accept_proxy_protocol", "'" + n + "' is not an address or network (e.g. \"10.0.0.0/8\")");
    }
  }
  if (l.mode == ListenerMode::http) l.alpn = {"h2", "http/1.1"};  // HTTP/2 first, as browsers and gRPC prefer
  if (auto names = r.strings("alpn")) {
    if (auto check = check_alpn(l.mode, *names); check.ok())
      l.alpn = *names;
    else
      r.error("alpn", describe(check, *names));
  }
  if (const auto* t = r.table("http")) {
    TableReader hr(*t, r.path_of("http"), r.context());
    if (l.mode != ListenerMode::http) r.error("http", "[listener.http] needs mode = \"http\"");
    read_http(hr, l.http);
  }
  if (const auto* t = r.table("http2")) {
    TableReader hr(*t, r.path_of("http2"), r.context());
    if (l.mode != ListenerMode::http) r.error("http2", "[listener.http2] needs mode = \"http\"");
    read_http2(hr, l.http.http2);
  }
  if (auto v = r.duration("handshake_timeout")) l.handshake_timeout = *v;
  if (auto v = r.duration("idle_timeout")) l.idle_timeout = *v;
  if (auto v = r.duration("max_connection_age")) {
    if (v->count() <= 0)
      r.error("max_connection_age", "must be longer than 0 (leave it out to keep connections open for any time)");
    else
      l.max_connection_age = *v;
  }
  r.require("tls");
  if (const auto* t = r.table("tls")) {
    TableReader tr(*t, r.path_of("tls"), r.context());
    read_tls(tr, l.tls);
    if (l.tls.verify == VerifyMode::optional && l.mode != ListenerMode::http)
      tr.error("verify",
               "verify = \"optional\" needs mode = \"http\" (only http mode can answer with a page "
               "that explains the refusal; in tcp mode the TLS alert is the answer)");
  }
  r.require("route");
  for_each_table(r, "route", [&](TableReader& rr, size_t i) {
    rr.require("upstream");
    RouteSettings route;
    route.source = rr.source();
    route.name = rr.string("name").value_or("route" + std::to_string(i));
    if (auto v = rr.string("upstream")) {
      route.upstream = *v;
      if (v->empty()) rr.error("upstream", "is empty; name one of the [[upstream]] tables");
    }
    if (auto names = rr.strings("sni")) {
      route.sni = *names;
      if (route.sni.empty()) rr.error("sni", "leave sni out for the default route rather than giving an empty list");
    }
    route.allow = read_rules(rr, "allow", l.mode);
    route.deny = read_rules(rr, "deny", l.mode);
    l.routes.push_back(route);
  });
}

void read_upstream(TableReader& r, UpstreamSettings& u) {
  r.require("name");
  r.require("endpoints");
  if (auto v = r.string("name")) {
    u.name = *v;
    if (v->empty()) r.error("name", "is empty; routes refer to an upstream by its name");
  }
  u.endpoints_source = r.source_of("endpoints");
  if (auto v = r.strings("endpoints")) {
    u.endpoints = *v;
    if (u.endpoints.empty()) r.error("endpoints", "needs at least one endpoint");
  }
  if (auto v = r.choice("protocol", {"http1", "h2c", "h2"}))
    u.protocol = *v == "h2c" ? UpstreamProtocol::h2c : *v == "h2" ? UpstreamProtocol::h2 : UpstreamProtocol::http1;
  if (auto v = r.duration("connect_timeout")) u.connect_timeout = *v;
  if (auto v = r.choice("balance", {"round_robin", "least_connections"}))
    u.balance = *v == "least_connections" ? Balance::least_connections : Balance::round_robin;
  if (auto v = r.integer("eject_after", 0, 1000)) u.eject_after = static_cast<int>(*v);
  if (auto v = r.duration("resolve_interval")) {
    if (v->count() < 10) r.error("resolve_interval", "must be at least 10ms");
    u.resolve_interval = *v;
  }
  if (auto v = r.duration("eject_for")) u.eject_for = *v;
  if (const auto* t = r.table("health")) {
    TableReader h(*t, r.path_of("health"), r.context());
    HealthSettings health;
    if (auto v = h.duration("interval")) health.interval = *v;
    if (auto v = h.duration("timeout")) health.timeout = *v;
    if (auto v = h.string("path")) {
      if (!v->starts_with("/")) h.error("path", "an HTTP path starts with '/'");
      health.path = *v;
    }
    if (health.interval.count() < 10) h.error("interval", "must be at least 10ms");
    u.health = health;
  }
  if (const auto* t = r.table("tls")) {
    TableReader tr(*t, r.path_of("tls"), r.context());
    UpstreamTlsSettings tls;
    tls.source = tr.source();
    tr.require("ca");
    if (auto v = tr.file("ca")) tls.ca = *v;
    tls.cert = tr.file("cert");
    tls.key = tr.file("key");
    if (tls.cert.has_value() != tls.key.has_value())
      tr.error(tls.cert ? "cert" : "key", "give both cert and key, or neither");
    tls.server_name = tr.string("server_name").value_or("");
    u.tls = tls;
    if (u.protocol == UpstreamProtocol::h2c)
      r.error("protocol", "h2c is HTTP/2 in plaintext; it cannot go with [upstream.tls] (\"h2\" is HTTP/2 over TLS)");
  } else if (u.protocol == UpstreamProtocol::h2) {
    r.error("protocol", "h2 is HTTP/2 over TLS: add [upstream.tls] with the upstream's ca (or use \"h2c\", HTTP/2 "
                        "in plaintext)");
  }
  // The health check speaks HTTP/1.1 in plaintext, which an HTTP/2-only service cannot answer.
  if (u.health && !u.health->path.empty() && is_http2(u.protocol))
    r.error("protocol", "an HTTP/2 upstream cannot answer the HTTP/1.1 health check of [upstream.health] path; leave "
                        "path out (the check then only connects)");
}

void cross_check(const Settings& s, ParseContext& ctx) {
  std::map<std::string, int> upstreams;
  for (const auto& u : s.upstreams) {
    if (!u.name.empty() && upstreams[u.name]++ > 0)
      ctx.diagnostics.add(ctx.file, u.endpoints_source, "upstream name '" + u.name + "' is used twice");
  }
  std::map<std::string, int> listeners;
  for (const auto& l : s.listeners) {
    if (listeners[l.name]++ > 0)
      ctx.diagnostics.add(ctx.file, l.listen_source, "listener name '" + l.name + "' is used twice");
    for (const auto& route : l.routes) {
      if (!route.upstream.empty() && !upstreams.contains(route.upstream)) {  // empty: reported where read
        Source where = route.source;
        where.key_path += ".upstream";
        ctx.diagnostics.add(ctx.file, where, "no [[upstream]] is named '" + route.upstream + "'");
      }
    }
  }
}

ParseResult parse_with(std::string_view text, ParseContext ctx) {
  ParseResult result;
  toml::table root;
  try {
    root = toml::parse(text, ctx.file);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    result.diagnostics.add(Problem{ctx.file, static_cast<int>(begin.line), static_cast<int>(begin.column), "",
                                   "TOML syntax error: " + std::string(e.description())});
    return result;
  }
  Settings settings;
  {
    TableReader top(root, "", ctx);
    if (const auto* t = top.table("server")) {
      TableReader r(*t, "server", ctx);
      read_server(r, settings.server);
    }
    if (const auto* t = top.table("admin")) {
      TableReader r(*t, "admin", ctx);
      if (auto v = r.string("listen")) {
        settings.admin.listen = *v;
        settings.admin.source = r.source_of("listen");
        if (v->empty()) r.error("listen", "use an address such as \"127.0.0.1:9901\", or \"off\"");
      }
    }
    if (const auto* t = top.table("log")) {
      TableReader r(*t, "log", ctx);
      read_log(r, settings.log);
    }
    top.require("listener");
    for_each_table(top, "listener", [&](TableReader& r, size_t i) {
      ListenerSettings l;
      read_listener(r, i, l);
      settings.listeners.push_back(std::move(l));
    });
    for_each_table(top, "upstream", [&](TableReader& r, size_t) {
      UpstreamSettings u;
      read_upstream(r, u);
      settings.upstreams.push_back(std::move(u));
    });
  }
  cross_check(settings, ctx);
  result.diagnostics = std::move(ctx.diagnostics);
  if (result.diagnostics.empty()) result.settings = std::move(settings);
  return result;
}

}  // namespace

ParseResult parse_text(std::string_view text, const std::string& display_name, const std::filesystem::path& base_dir) {
  ParseContext ctx{display_name, base_dir, {}};
  return parse_with(text, std::move(ctx));
}

ParseResult parse_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ParseResult result;
    result.diagnostics.add(
        Problem{file.string(), 0, 0, "", "cannot read the config file: " + std::string(std::strerror(errno))});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto base = std::filesystem::absolute(file).parent_path();
  auto result = parse_text(text.str(), file.string(), base);
  if (result.settings) result.settings->config_file = file;
  return result;
}

}  // namespace gatehouse::conf
