// Runs a real Gatehouse Server in-process on loopback port 0, with a PKI minted for the test,
// an access log captured line by line, and helpers to build clients.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proxy/server.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/tls_client.hpp"

namespace gatehouse::test {

struct ProxyConfig {
  std::string listen = "127.0.0.1:0";
  bool with_rsa_cert = true;
  // Extra server certificates, listed before the default ones: {cert file, key file} in dir().
  std::vector<std::pair<std::string, std::string>> extra_certificates;
  bool configure_intermediates = true;
  int verify_depth = 2;
  std::string min_version = "1.2";
  std::string max_version = "1.3";
  std::string handshake_timeout = "10s";
  std::string idle_timeout = "5m";
  std::string connect_timeout = "2s";
  std::string drain_timeout = "5s";
  long max_connections = 100000;
  std::vector<std::string> endpoints = {"builtin:whoami"};
  std::string upstream_extra;  // more TOML lines for the [[upstream]] table
  std::string listener_extra;  // more TOML lines for the [[listener]] table (mode, proxy_protocol, ...)
  std::string http_extra;      // lines for [listener.http] (needs mode = "http" in listener_extra)
  std::string verify = "require";
  std::string tls_extra;  // more lines for [listener.tls] (e.g. max_client_cert_size)
  std::string routes;     // [[listener.route]] tables; empty: one default route to "app"
};

class ProxyHarness {
 public:
  ProxyHarness();  // mints the PKI: root, intermediate, server certs, alice
  ~ProxyHarness();

  std::string config_text(const ProxyConfig& config) const;
  void start(const ProxyConfig& config);  // throws with the problems if it cannot start
  // Starts from any config text; relative paths resolve against `base_dir`.
  void start_text(const std::string& toml, const std::filesystem::path& base_dir,
                  proxy::LookupForTest lookup = nullptr);
  void stop();
  // Reloads the running server from this text (as SIGHUP would from its file).
  proxy::Server::ReloadOutcome reload_text(const std::string& toml, const std::filesystem::path& base_dir);

  std::uint16_t port() const { return server_->port(0); }
  std::shared_ptr<const proxy::Snapshot> snapshot() const { return server_->snapshot(); }
  const proxy::Server& server() const { return *server_; }
  proxy::Server& server() { return *server_; }
  metrics::CounterTotals totals() const { return server_->totals(); }

  // A client for the listener, presenting `chain` + `key` (files in dir()); empty = no cert.
  ClientOptions client(const std::string& chain = "alice-chain.pem", const std::string& key = "alice.key") const;

  // Waits (bounded, 5 s) until no client connection is open; false if some still are.
  bool wait_until_no_connections() const;

  // Waits (bounded) until `count` access-log lines were written; returns them all.
  std::vector<nlohmann::json> wait_for_log(size_t count, int timeout_ms = 10000);

  const TempDir& dir() const { return dir_; }
  const Cert& root() const { return root_; }
  const Cert& intermediate() const { return intermediate_; }

 private:
  TempDir dir_;
  Cert root_, intermediate_;
  std::unique_ptr<proxy::Server> server_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

}  // namespace gatehouse::test
