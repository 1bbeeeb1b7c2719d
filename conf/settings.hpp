// Plain, validated configuration values: what the TOML said, with defaults applied.
// No runtime objects here; proxy/snapshot builds those from these structs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gatehouse::conf {

using Duration = std::chrono::milliseconds;

// Where a value came from, so later stages (loading files) can point at the line.
struct Source {
  std::string key_path;  // e.g. "listener[0].tls.client_ca"
  int line = 0;
  int column = 0;
};

struct FileRef {
  std::filesystem::path path;  // already resolved against the config file's folder
  Source source;
};

struct CertificateSettings {
  FileRef cert;  // PEM: leaf first, then intermediates
  FileRef key;
};

enum class TlsVersion { v1_2, v1_3 };
enum class VerifyMode { require };

struct TlsSettings {
  std::vector<CertificateSettings> certificates;
  TlsVersion min_version = TlsVersion::v1_2;
  TlsVersion max_version = TlsVersion::v1_3;
  FileRef client_ca;
  std::optional<FileRef> client_intermediates;
  std::optional<FileRef> crl;  // PEM, one or several CRLs
  bool crl_stale_reject = true;  // crl_stale = "reject" (default) | "warn"
  bool session_tickets = true;
  std::optional<FileRef> ticket_keys;  // 80-byte keys, the first encrypts; shared by instances
  VerifyMode verify = VerifyMode::require;
  int verify_depth = 2;  // intermediates allowed between the client cert and the root
};

// One allow or deny rule: identity fields that must all match, e.g. {ou = "testers"}.
struct RuleSettings {
  std::vector<std::pair<std::string, std::string>> fields;  // ("ou", "testers"), in file order
  Source source;
};

struct RouteSettings {
  std::string name;              // "route0", ... unless given
  std::vector<std::string> sni;  // exact names and "*." wildcards; empty = the default route
  std::string upstream;
  std::vector<RuleSettings> allow;
  std::vector<RuleSettings> deny;
  Source source;
};

struct ListenerSettings {
  std::string name;
  std::string listen;  // "127.0.0.1:8443", "[::1]:8443"
  Source listen_source;
  Duration handshake_timeout{std::chrono::seconds(10)};
  Duration idle_timeout{std::chrono::minutes(5)};
  TlsSettings tls;
  std::vector<RouteSettings> routes;
};

enum class Balance { round_robin, least_connections };

struct HealthSettings {
  Duration interval{std::chrono::seconds(5)};
  Duration timeout{std::chrono::seconds(2)};
  std::string path;  // empty: a TCP connect; else an HTTP GET that must answer 2xx
};

// Re-encryption to an upstream that speaks TLS, optionally with our own client certificate.
struct UpstreamTlsSettings {
  FileRef ca;                   // the only anchors for the upstream's certificate
  std::optional<FileRef> cert;  // Gatehouse's client certificate chain, for upstreams that require mTLS
  std::optional<FileRef> key;
  std::string server_name;      // SNI and the name checked; default: each endpoint's host
  Source source;
};

struct UpstreamSettings {
  std::string name;
  std::vector<std::string> endpoints;  // "host:port" or "builtin:whoami"
  Source endpoints_source;
  Duration connect_timeout{std::chrono::seconds(2)};
  Balance balance = Balance::round_robin;
  int eject_after = 3;                        // consecutive connect failures before ejection
  Duration eject_for{std::chrono::seconds(30)};
  std::optional<HealthSettings> health;
  std::optional<UpstreamTlsSettings> tls;
  Duration resolve_interval{std::chrono::seconds(30)};  // how often DNS names are looked up again
};

struct ServerSettings {
  int workers = 0;  // 0 = one per core
  std::int64_t max_connections = 100000;
  Duration drain_timeout{std::chrono::seconds(30)};
};

struct LogSettings {
  std::string access = "stdout";  // "stdout" | "off" | a file path
  std::string level = "info";
};

struct Settings {
  std::filesystem::path config_file;  // empty for the embedded default
  ServerSettings server;
  LogSettings log;
  std::vector<ListenerSettings> listeners;
  std::vector<UpstreamSettings> upstreams;
};

}  // namespace gatehouse::conf
