// One JSON line per connection. Built with nlohmann::json (Debian's nlohmann-json3-dev: the
// escaping of hostile subject strings is its job, not ours). Never contains key material.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tls/identity.hpp"
#include "tls/reason.hpp"

namespace gatehouse::proxy {

struct ConnectionRecord {
  std::string listener;
  std::string client;  // "127.0.0.1:51234"
  std::string sni;
  std::string tls_version;
  std::string cipher;
  bool resumed = false;
  double handshake_ms = 0;
  const tls::PeerIdentity* identity = nullptr;  // set once the certificate verified
  std::string decision;  // "allow" | "deny"
  tls::Reason reason = tls::Reason::ok;
  std::string detail;  // plain words for a refusal
  std::string failed_issuer;
  int failed_depth = -1;
  std::string route;
  std::string rule;
  std::string upstream;
  std::string endpoint;
  std::uint64_t bytes_client_to_upstream = 0;
  std::uint64_t bytes_upstream_to_client = 0;
  double duration_ms = 0;
  std::string close;  // why the connection ended
  // http mode: one line per request
  std::string http_method;
  std::string http_target;
  std::string http_host;
  int http_status = 0;
  int http_request = 0;  // 1 for the first request on the connection
};

std::string format_access_line(const ConnectionRecord& record);

// Where lines go. Writers on several workers call it concurrently; each line is written with
// a single write(2) so lines never interleave.
class AccessLog {
 public:
  using Sink = std::function<void(std::string_view line)>;
  AccessLog() = default;  // off
  explicit AccessLog(Sink sink) : sink_(std::make_shared<Sink>(std::move(sink))) {}
  // "stdout", "off", or a file path (appended to). Empty result + `error` on failure.
  static AccessLog open(const std::string& target, std::string& error);

  void write(const ConnectionRecord& record) const {
    if (sink_) (*sink_)(format_access_line(record));
  }

 private:
  std::shared_ptr<Sink> sink_;
};

}  // namespace gatehouse::proxy
