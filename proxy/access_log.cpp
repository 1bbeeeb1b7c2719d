#include "proxy/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
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

double round3(double v) { return static_cast<double>(static_cast<long long>(v * 1000 + 0.5)) / 1000; }

void write_line(int fd, std::string_view line) {
  std::string out(line);
  out += '\n';
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk must not take the proxy down
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::string format_access_line(const ConnectionRecord& r) {
  nlohmann::ordered_json j;
  j["time"] = now_iso8601();
  j["listener"] = r.listener;
  j["client"] = r.client;
  j["sni"] = r.sni;
  j["tls_version"] = r.tls_version;
  j["cipher"] = r.cipher;
  j["resumed"] = r.resumed;
  j["handshake_ms"] = round3(r.handshake_ms);
  if (r.identity) {
    j["subject"] = r.identity->subject;
    j["issuer"] = r.identity->issuer;
    j["serial"] = r.identity->serial;
    j["fingerprint_sha256"] = r.identity->fingerprint;
  }
  if (!r.http_method.empty()) {
    j["method"] = r.http_method;
    j["target"] = r.http_target;
    j["host"] = r.http_host;
    j["status"] = r.http_status;
    j["request"] = r.http_request;
  }
  j["decision"] = r.decision;
  j["reason"] = tls::reason_keyword(r.reason);
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
  j["close"] = r.close;
  // Replace invalid UTF-8 from hostile certificates rather than failing the line.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AccessLog AccessLog::open(const std::string& target, std::string& error) {
  if (target == "off") return AccessLog();
  if (target == "stdout") return AccessLog([](std::string_view line) { write_line(STDOUT_FILENO, line); });
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = "cannot open access log " + target + ": " + std::strerror(errno);
    return AccessLog();
  }
  auto shared_fd = std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  return AccessLog([shared_fd](std::string_view line) { write_line(*shared_fd, line); });
}

}  // namespace gatehouse::proxy
