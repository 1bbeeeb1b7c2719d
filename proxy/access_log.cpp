#include "proxy/access_log.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace gatehouse::proxy {
namespace {

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

double round3(double v) { return static_cast<double>(std::llround(v * 1000)) / 1000; }

}  // namespace

std::string format_access_line(const ConnectionRecord& r) {
  nlohmann::ordered_json j;
  j["time"] = now_iso8601();
  if (!r.id.empty()) j["id"] = r.id;
  j["listener"] = r.listener;
  j["client"] = r.client;
  j["sni"] = r.sni;
  j["tls_version"] = r.tls_version;
  j["cipher"] = r.cipher;
  if (!r.alpn.empty()) j["alpn"] = r.alpn;
  j["resumed"] = r.resumed;
  j["handshake_ms"] = round3(r.handshake_ms);
  if (r.identity) {
    j["subject"] = r.identity->subject;
    j["issuer"] = r.identity->issuer;
    j["serial"] = r.identity->serial;
    j["fingerprint_sha256"] = r.identity->fingerprint;
  }
  if (r.unverified) {
    j["unverified_certificate"] = {{"subject", r.unverified->subject},
                                   {"issuer", r.unverified->issuer},
                                   {"serial", r.unverified->serial},
                                   {"fingerprint_sha256", r.unverified->fingerprint},
                                   {"not_after", tls::iso8601(r.unverified->not_after)}};
  }
  if (!r.http_method.empty()) {
    j["method"] = r.http_method;
    j["target"] = r.http_target;
    j["host"] = r.http_host;
    j["status"] = r.http_status;
    j["request"] = r.http_request;
    if (r.http_stream > 0) j["stream"] = r.http_stream;
    if (r.grpc_status >= 0) j["grpc_status"] = r.grpc_status;
  }
  j["decision"] = r.decision;
  j["reason"] = gatehouse::reason_keyword(r.reason);
  if (!r.detail.empty()) j["detail"] = r.detail;
  if (!r.failed_issuer.empty()) j["failed_issuer"] = r.failed_issuer;
  if (r.failed_depth >= 0) j["failed_depth"] = r.failed_depth;
  if (!r.route.empty()) j["route"] = r.route;
  if (!r.rule.empty()) j["rule"] = r.rule;
  j["upstream"] = r.upstream;
  j["endpoint"] = r.endpoint;
  j["bytes_client_to_upstream"] = r.bytes_client_to_upstream;
  j["bytes_upstream_to_client"] = r.bytes_upstream_to_client;
  j["duration_ms"] = round3(r.duration_ms);
  j["close"] = close_keyword(r.close);
  // Replace invalid UTF-8 from hostile certificates rather than failing the line.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gatehouse::proxy
