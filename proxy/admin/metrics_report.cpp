#include "proxy/admin/metrics_report.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

#include "metrics/exposition.hpp"
#include "proxy/proxy_protocol.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy::admin {
namespace {

using metrics::Exposition;
using metrics::Labels;

constexpr const char* kVersions[] = {"TLSv1.2", "TLSv1.3", "none"};

template <std::size_t N>
struct HistogramSum {
  std::vector<std::uint64_t> buckets = std::vector<std::uint64_t>(N + 1);
  double sum = 0;
  void add(const metrics::Histogram<N>& h) {
    for (std::size_t i = 0; i <= N; ++i) buckets[i] += h.bucket(i);
    sum += h.sum();
  }
  void expose(Exposition& e, const std::string& name, const std::string& help, const Labels& labels,
              const std::array<double, N>& bounds) const {
    e.histogram(name, help, labels, std::vector<double>(bounds.begin(), bounds.end()), buckets, sum);
  }
};

// Open connections Gatehouse ended itself: after a reload (by reason; revoked always shown) and at
// max_connection_age.
void ended_metrics(Exposition& e, const ListenerRuntime& l, const std::vector<const WorkerContext*>& workers) {
  std::array<std::uint64_t, gatehouse::kReasonCount> reverified{};
  std::uint64_t aged = 0;
  for (const auto* w : workers) {
    const auto& c = *w->listener_counters[l.index];
    for (std::size_t r = 0; r < gatehouse::kReasonCount; ++r) reverified[r] += c.reverified_closed[r].get();
    aged += c.max_age_closed.get();
  }
  for (std::size_t r = 1; r < gatehouse::kReasonCount; ++r) {
    if (!reverified[r] && static_cast<gatehouse::Reason>(r) != gatehouse::Reason::revoked) continue;
    e.counter("gatehouse_connections_reverified_closed_total",
              "Open connections closed after a reload because their client no longer passes.",
              {{"listener", l.settings.name},
               {"reason", std::string(gatehouse::reason_keyword(static_cast<gatehouse::Reason>(r)))}},
              static_cast<double>(reverified[r]));
  }
  e.counter("gatehouse_connections_max_age_closed_total", "Connections closed at max_connection_age.",
            {{"listener", l.settings.name}}, static_cast<double>(aged));
}

// http mode: requests by protocol; HTTP/2 streams reset and GOAWAYs by cause; gRPC calls by status.
void http_metrics(Exposition& e, const ListenerRuntime& l, const std::vector<const WorkerContext*>& workers) {
  if (l.settings.mode != conf::ListenerMode::http) return;
  std::array<std::uint64_t, 2> requests{};
  std::array<std::uint64_t, 3> goaways{};
  std::array<std::uint64_t, 2> resets{};
  std::array<std::uint64_t, 17> grpc{};
  for (const auto* w : workers) {
    const auto& c = *w->listener_counters[l.index];
    for (std::size_t p = 0; p < requests.size(); ++p) requests[p] += c.http_requests[p].get();
    for (std::size_t g = 0; g < goaways.size(); ++g) goaways[g] += c.h2_goaways[g].get();
    for (std::size_t r = 0; r < resets.size(); ++r) resets[r] += c.h2_streams_reset[r].get();
    for (std::size_t g = 0; g < grpc.size(); ++g) grpc[g] += c.grpc_calls[g].get();
  }
  constexpr const char* kProtocols[] = {"http/1.1", "h2"};
  for (std::size_t p = 0; p < requests.size(); ++p)
    e.counter("gatehouse_http_requests_total", "http mode: requests (HTTP/2: streams) by protocol.",
              {{"listener", l.settings.name}, {"protocol", kProtocols[p]}}, static_cast<double>(requests[p]));
  constexpr const char* kResetBy[] = {"client", "upstream"};
  for (std::size_t r = 0; r < resets.size(); ++r)
    e.counter("gatehouse_http2_streams_reset_total", "HTTP/2 streams reset before their end, by who reset them.",
              {{"listener", l.settings.name}, {"by", kResetBy[r]}}, static_cast<double>(resets[r]));
  // gRPC's own names (grpc/doc/statuscodes.md); OK always present, the others once seen.
  constexpr const char* kGrpcCodes[] = {"OK",           "CANCELLED",           "UNKNOWN",      "INVALID_ARGUMENT",
                                        "DEADLINE_EXCEEDED", "NOT_FOUND",      "ALREADY_EXISTS", "PERMISSION_DENIED",
                                        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",  "OUT_OF_RANGE",
                                        "UNIMPLEMENTED", "INTERNAL",           "UNAVAILABLE",  "DATA_LOSS",
                                        "UNAUTHENTICATED"};
  for (std::size_t g = 0; g < grpc.size(); ++g)
    if (g == 0 || grpc[g] > 0)
      e.counter("gatehouse_grpc_calls_total", "gRPC calls by the status they ended with (ours or the upstream's).",
                {{"listener", l.settings.name}, {"code", kGrpcCodes[g]}}, static_cast<double>(grpc[g]));
  constexpr const char* kCauses[] = {"graceful", "protocol_error", "abuse"};
  for (std::size_t g = 0; g < goaways.size(); ++g)
    e.counter("gatehouse_http2_goaways_total",
              "HTTP/2 connections Gatehouse ended with GOAWAY, by cause (abuse: ENHANCE_YOUR_CALM).",
              {{"listener", l.settings.name}, {"cause", kCauses[g]}}, static_cast<double>(goaways[g]));
}

void listener_metrics(Exposition& e, const ListenerRuntime& l, const std::vector<const WorkerContext*>& workers) {
  const Labels who{{"listener", l.settings.name}};
  std::uint64_t active = 0, total = 0, up = 0, down = 0;
  HistogramSum<metrics::kLatencyBounds.size()> handshake;
  HistogramSum<metrics::kDurationBounds.size()> duration;
  std::array<std::array<std::array<std::uint64_t, 2>, 3>, gatehouse::kReasonCount> handshakes{};
  for (const auto* w : workers) {
    const auto& c = *w->listener_counters[l.index];
    active += c.connections_active.get();
    total += c.connections_total.get();
    up += c.bytes_client_to_upstream.get();
    down += c.bytes_upstream_to_client.get();
    handshake.add(c.handshake_duration);
    duration.add(c.connection_duration);
    for (std::size_t r = 0; r < gatehouse::kReasonCount; ++r)
      for (std::size_t v = 0; v < 3; ++v)
        for (std::size_t s = 0; s < 2; ++s) handshakes[r][v][s] += c.handshakes[r][v][s].get();
  }
  for (std::size_t r = 0; r < gatehouse::kReasonCount; ++r)
    for (std::size_t v = 0; v < 3; ++v)
      for (std::size_t s = 0; s < 2; ++s) {
        bool baseline = r == 0 && v == 1 && s == 0;  // ok, TLSv1.3, full: always present
        if (!handshakes[r][v][s] && !baseline) continue;
        e.counter(
            "gatehouse_tls_handshakes_total", "TLS handshakes by outcome (ok or the refusal reason).",
            {{"listener", l.settings.name},
             {"result", r == 0 ? "ok" : std::string(gatehouse::reason_keyword(static_cast<gatehouse::Reason>(r)))},
             {"version", kVersions[v]},
             {"resumed", s ? "true" : "false"}},
            static_cast<double>(handshakes[r][v][s]));
      }
  handshake.expose(e, "gatehouse_tls_handshake_duration_seconds", "Time from accept to the end of the handshake.", who,
                   metrics::kLatencyBounds);
  e.gauge("gatehouse_connections_active", "Client connections open now.", who, static_cast<double>(active));
  e.counter("gatehouse_connections_total", "Client connections accepted.", who, static_cast<double>(total));
  duration.expose(e, "gatehouse_connection_duration_seconds", "How long client connections lasted.", who,
                  metrics::kDurationBounds);
  e.counter("gatehouse_bytes_total", "Bytes forwarded.",
            {{"listener", l.settings.name}, {"direction", "client_to_upstream"}}, static_cast<double>(up));
  e.counter("gatehouse_bytes_total", "Bytes forwarded.",
            {{"listener", l.settings.name}, {"direction", "upstream_to_client"}}, static_cast<double>(down));
  ended_metrics(e, l, workers);
  http_metrics(e, l, workers);
}

void authz_metrics(Exposition& e, const ListenerRuntime& l, const std::vector<const WorkerContext*>& workers) {
  const auto& routes = l.router->routes();
  for (std::size_t r = 0; r <= routes.size(); ++r) {
    std::string route = r < routes.size() ? routes[r].name : "(none)";
    std::uint64_t allowed = 0, requests_denied = 0;
    std::array<std::uint64_t, gatehouse::kReasonCount> refused{};
    for (const auto* w : workers)
      w->state.read_route(l.settings.name, r < routes.size() ? routes[r].name : "",
                          [&](const metrics::RouteCounters& c) {
                            allowed += c.allowed.get();
                            requests_denied += c.requests_denied.get();
                            for (std::size_t i = 0; i < refused.size(); ++i) refused[i] += c.refused[i].get();
                          });
    const std::string help = "Authorization decisions on verified clients, by route.";
    if (r < routes.size())  // "(none)": no route matched, which only ever refuses
      e.counter("gatehouse_authz_decisions_total", help,
                {{"listener", l.settings.name}, {"route", route}, {"decision", "allow"}, {"reason", "ok"}},
                static_cast<double>(allowed));
    for (std::size_t i = 1; i < refused.size(); ++i)
      if (refused[i])
        e.counter("gatehouse_authz_decisions_total", help,
                  {{"listener", l.settings.name},
                   {"route", route},
                   {"decision", "deny"},
                   {"reason", std::string(gatehouse::reason_keyword(static_cast<gatehouse::Reason>(i)))}},
                  static_cast<double>(refused[i]));
    if (requests_denied)
      e.counter("gatehouse_http_requests_denied_total", "Requests refused by a path or method rule (403), by route.",
                {{"listener", l.settings.name}, {"route", route}}, static_cast<double>(requests_denied));
  }
}

void upstream_metrics(Exposition& e, const UpstreamRuntime& u, const std::vector<const WorkerContext*>& workers) {
  std::uint64_t ok = 0, failed = 0, replayed = 0;
  HistogramSum<metrics::kLatencyBounds.size()> connect;
  for (const auto* w : workers)
    w->state.read_upstream(u.name, [&](const metrics::UpstreamCounters& c) {
      ok += c.connect_ok.get();
      failed += c.connect_failed.get();
      replayed += c.replayed.get();
      connect.add(c.connect_duration);
    });
  e.counter("gatehouse_upstream_requests_replayed_total",
            "Requests without a body and safe to repeat, sent again on a new connection because the kept "
            "one closed before any answer.",
            {{"upstream", u.name}}, static_cast<double>(replayed));
  const std::string help = "Connection attempts to the upstream's endpoints.";
  e.counter("gatehouse_upstream_connect_total", help, {{"upstream", u.name}, {"result", "ok"}},
            static_cast<double>(ok));
  e.counter("gatehouse_upstream_connect_total", help, {{"upstream", u.name}, {"result", "error"}},
            static_cast<double>(failed));
  connect.expose(e, "gatehouse_upstream_connect_duration_seconds", "Time to connect to an endpoint.",
                 {{"upstream", u.name}}, metrics::kLatencyBounds);
  double healthy = 0;
  for (const auto& ep : u.endpoints) healthy += ep.healthy->load(std::memory_order_relaxed) ? 1 : 0;
  e.gauge("gatehouse_upstream_endpoints_healthy", "Endpoints passing their health check.", {{"upstream", u.name}},
          healthy);
}

}  // namespace

std::string metrics_text(const Snapshot& snapshot, const std::vector<const WorkerContext*>& workers,
                         const ServerFacts& facts) {
  Exposition e;
  for (const auto& l : snapshot.listeners) listener_metrics(e, l, workers);
  for (const auto& l : snapshot.listeners) authz_metrics(e, l, workers);
  for (const auto& u : snapshot.upstreams) upstream_metrics(e, u, workers);
  for (const auto& l : snapshot.listeners)
    for (const auto& c : l.tls->loaded())
      e.gauge("gatehouse_certificate_not_after_seconds",
              "When a loaded certificate expires (a CRL: its next update), Unix seconds.",
              {{"listener", l.settings.name}, {"kind", c.kind}, {"subject", c.subject}},
              static_cast<double>(c.not_after));
  e.counter("gatehouse_config_reloads_total", "Configuration reloads.", {{"result", "ok"}},
            static_cast<double>(facts.reloads_ok));
  e.counter("gatehouse_config_reloads_total", "Configuration reloads.", {{"result", "error"}},
            static_cast<double>(facts.reloads_error));
  e.gauge("gatehouse_config_generation", "Which configuration is serving (1 at start, +1 per reload).", {},
          static_cast<double>(facts.config_generation));
  e.counter("gatehouse_access_log_dropped_total", "Access-log lines dropped because the writer fell behind.", {},
            static_cast<double>(facts.access_log_dropped));
  std::array<std::uint64_t, metrics::kProxyTlvSlots> tlv_dropped{};
  for (const auto* w : workers)
    for (std::size_t t = 0; t < tlv_dropped.size(); ++t) tlv_dropped[t] += w->counters.proxy_tlv_dropped[t].get();
  for (std::size_t t = 0; t < tlv_dropped.size(); ++t)
    if (tlv_dropped[t] ||
        static_cast<ProxyTlv>(t) == ProxyTlv::ssl_client_cert)  // the one that can happen: always shown
      e.counter("gatehouse_proxy_tlv_dropped_total",
                "PROXY v2 TLVs left out because they did not fit the header's 16-bit lengths.",
                {{"tlv", std::string(proxy_tlv_keyword(static_cast<ProxyTlv>(t)))}},
                static_cast<double>(tlv_dropped[t]));
  e.counter("gatehouse_accept_errors_total",
            "Accepts that failed (out of descriptors or memory); each one pauses accepting, 5 ms doubling to 1 s.", {},
            static_cast<double>(facts.accept_errors));
  const std::string seen_help =
      "Distinct client certificates seen in the last 24 h, by whether they were admitted "
      "or refused (one can be both).";
  e.gauge("gatehouse_client_certificates_seen", seen_help, {{"status", "admitted"}},
          static_cast<double>(facts.seen_clients.admitted));
  e.gauge("gatehouse_client_certificates_seen", seen_help, {{"status", "refused"}},
          static_cast<double>(facts.seen_clients.refused));
  e.gauge("gatehouse_client_certificates_expiring_soon",
          "Client certificates admitted in the last 24 h that expire within 14 days (GET /clients?expiring=14d).", {},
          static_cast<double>(facts.seen_clients.expiring_soon));
  e.gauge("gatehouse_build_info", "Gatehouse's version and BoringSSL build.",
          {{"version", GATEHOUSE_VERSION}, {"boringssl", GATEHOUSE_BORINGSSL_DESCRIPTION}}, 1);
  return e.text();
}

std::string certs_json(const Snapshot& snapshot) {
  const std::int64_t now = std::time(nullptr);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& l : snapshot.listeners)
    for (const auto& c : l.tls->loaded()) {
      nlohmann::ordered_json j{{"listener", l.settings.name}, {"kind", c.kind}, {"subject", c.subject}};
      if (!c.serial.empty()) j["serial"] = c.serial;
      j[c.kind == "crl" ? "this_update" : "not_before"] = tls::iso8601(c.not_before);
      j[c.kind == "crl" ? "next_update" : "not_after"] = tls::iso8601(c.not_after);
      j["days_left"] = (c.not_after - now) / 86400;
      out.push_back(std::move(j));
    }
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace gatehouse::proxy::admin
