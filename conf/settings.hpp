// Plain, validated configuration values: what the TOML said, with defaults applied.
// No runtime objects here; proxy/snapshot builds those from these structs.
#pragma once

#include <array>
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
// require: no valid certificate, no handshake (a TLS alert). optional (http mode only): the
// handshake completes and the request gets a page that explains the refusal.
enum class VerifyMode { require, optional };

struct TlsSettings {
  std::vector<CertificateSettings> certificates;
  TlsVersion min_version = TlsVersion::v1_2;
  TlsVersion max_version = TlsVersion::v1_3;
  FileRef client_ca;
  std::optional<FileRef> client_intermediates;
  std::optional<FileRef> crl;    // PEM, one or several CRLs
  bool crl_stale_reject = true;  // crl_stale = "reject" (default) | "warn"
  bool session_tickets = true;
  std::optional<FileRef> ticket_keys;                // 80-byte keys, the first encrypts; shared by instances
  Duration ticket_rotation{std::chrono::hours(12)};  // keys Gatehouse makes itself (no ticket_keys)
  VerifyMode verify = VerifyMode::require;
  int verify_depth = 2;  // intermediates allowed between the client cert and the root
  // Total DER bytes of the certificates a client sends. Caps what reaches logs, headers and the
  // PROXY v2 header (whose 16-bit lengths a bigger certificate would overflow).
  std::int64_t max_client_cert_size = 16 * 1024;
};

// One allow or deny rule: identity fields that must all match, e.g. {ou = "testers"}, and in
// http mode conditions on each request: {ou = "admins", path = "/admin/**", methods = ["GET"]}.
struct RuleSettings {
  std::vector<std::pair<std::string, std::string>> fields;  // ("ou", "testers"), in file order
  Source source;
  std::vector<std::string> paths;    // `path`: a string or a list; any may match
  std::vector<std::string> methods;  // case-sensitive method names; any may match
  bool has_request_conditions() const { return !paths.empty() || !methods.empty(); }
};

struct RouteSettings {
  std::string name;              // "route0", ... unless given
  std::vector<std::string> sni;  // exact names and "*." wildcards; empty = the default route
  std::string upstream;
  std::vector<RuleSettings> allow;
  std::vector<RuleSettings> deny;
  Source source;
};

enum class ListenerMode { tcp, http };
enum class ProxyProtocol { off, v2 };

// Identity headers http mode adds to each request (after removing any the client sent).
struct IdentityHeaderSettings {
  bool xfcc = true;                                                     // X-Forwarded-Client-Cert, Envoy's format
  std::vector<std::string> xfcc_keys{"Hash", "Subject", "URI", "DNS"};  // plus Cert, Chain with forward_cert
  bool x_client = true;       // X-Client-Subject, -CN, -Fingerprint, -Serial, -Not-After
  bool client_cert = false;   // RFC 9440 Client-Cert and Client-Cert-Chain
  bool forwarded = true;      // X-Forwarded-For, X-Forwarded-Proto, Forwarded
  bool forward_cert = false;  // adds the certificate (and chain) to XFCC
  bool operator==(const IdentityHeaderSettings&) const = default;
};

// What a refused request is answered with in http mode with verify = "optional".
enum class RefusalCodes { always_403, nginx };  // nginx: 496 no certificate, 495 failed, 403 not allowed

// HTTP/2 on an http-mode listener that offers "h2" ([listener.http2]). The defaults are what a
// security reviewer would pick: enough for a browser or a gRPC channel, bounded memory per
// connection (at most connection_window_size of request bodies waits in Gatehouse), and abuse
// (rapid reset, control-frame floods) ends the connection with GOAWAY ENHANCE_YOUR_CALM.
struct Http2Settings {
  std::int64_t max_concurrent_streams = 100;
  std::int64_t initial_window_size = 256 * 1024;      // per stream, what the client may send unread
  std::int64_t connection_window_size = 1024 * 1024;  // all streams of a connection together
  std::int64_t max_resets_per_second = 50;            // streams the client resets (burst: 4 seconds' worth)
  std::int64_t max_control_frames_per_second = 100;   // PING, SETTINGS, PRIORITY, empty DATA (burst: 10 s)
};

struct HttpSettings {
  IdentityHeaderSettings headers;
  Http2Settings http2;
  std::int64_t max_head_size = 16 * 1024;                // request head bytes; beyond: 431
  std::int64_t max_headers = 100;                        // header lines; beyond: 431
  Duration head_timeout{std::chrono::seconds(10)};       // a request head must arrive within this
  Duration keepalive_timeout{std::chrono::seconds(60)};  // idle time between requests
  RefusalCodes refusal_codes = RefusalCodes::always_403;
  std::string contact;                                      // on refusal pages: whom a tester asks for help (free text)
  std::vector<std::string> allowed_trailers;                // chunked trailer fields passed on; others dropped
  std::vector<std::string> upgrade_protocols{"websocket"};  // Upgrade protocols tunnelled after a checked 101
};

// An IPv4 or IPv6 network, e.g. 10.0.0.0/8, as parsed from accept_proxy_protocol.
struct Network {
  std::string text;
  std::array<std::uint8_t, 16> address{};  // IPv4 as ::ffff:a.b.c.d
  int prefix = 0;                          // over the 128-bit form
};

struct ListenerSettings {
  std::string name;
  std::string listen;  // "127.0.0.1:8443", "[::1]:8443"
  Source listen_source;
  Duration handshake_timeout{std::chrono::seconds(10)};
  Duration idle_timeout{std::chrono::minutes(5)};
  Duration max_connection_age{0};  // 0: off; else older connections are closed (http: at a request boundary)
  ListenerMode mode = ListenerMode::tcp;
  ProxyProtocol proxy_protocol = ProxyProtocol::off;  // sent to the upstream
  std::vector<Network> accept_proxy_protocol;         // sources whose PROXY v1/v2 header we read
  // ALPN protocols offered, ours first: the first of these the client also offers is chosen.
  // Empty: no ALPN (tcp mode's default); http mode: ["h2", "http/1.1"].
  std::vector<std::string> alpn;
  HttpSettings http;
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
  std::string server_name;  // SNI and the name checked; default: each endpoint's host
  Source source;
};

// How http mode speaks to an upstream: HTTP/1.1, HTTP/2 in plaintext (h2c: gRPC servers), or
// HTTP/2 over the upstream's TLS (h2, ALPN "h2").
enum class UpstreamProtocol { http1, h2c, h2 };

// HTTP/2 either way: streams multiplexed over connections the worker shares.
inline bool is_http2(UpstreamProtocol p) { return p != UpstreamProtocol::http1; }

struct UpstreamSettings {
  std::string name;
  UpstreamProtocol protocol = UpstreamProtocol::http1;
  std::vector<std::string> endpoints;  // "host:port" or "builtin:whoami"
  Source endpoints_source;
  Duration connect_timeout{std::chrono::seconds(2)};
  Balance balance = Balance::round_robin;
  int eject_after = 3;  // consecutive connect failures before ejection
  Duration eject_for{std::chrono::seconds(30)};
  std::optional<HealthSettings> health;
  std::optional<UpstreamTlsSettings> tls;
  Duration resolve_interval{std::chrono::seconds(30)};  // how often DNS names are looked up again
};

struct ServerSettings {
  int workers = 0;  // 0 = one per core
  std::int64_t max_connections = 100000;
  Duration drain_timeout{std::chrono::seconds(30)};
  std::int64_t verified_cache = 16384;  // client certificates each worker remembers as verified; 0 = none
  bool watch = false;                   // reload when the config or a file it names changes (inotify)
};

struct AdminSettings {
  std::string listen = "127.0.0.1:9901";  // /metrics, /healthz, /readyz, /certs; "off" disables
  Source source;
};

struct LogSettings {
  std::string access = "stdout";  // "stdout" | "off" | a file path
  std::string level = "info";
};

struct Settings {
  std::filesystem::path config_file;  // empty for the embedded default
  ServerSettings server;
  AdminSettings admin;
  LogSettings log;
  std::vector<ListenerSettings> listeners;
  std::vector<UpstreamSettings> upstreams;
};

}  // namespace gatehouse::conf
