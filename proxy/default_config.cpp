#include "proxy/default_config.hpp"

namespace gatehouse::proxy {

std::string default_config_text() {
  return std::string(R"(# Gatehouse's embedded default: `gatehouse run` with no config file.
# Paths are relative to the dev PKI folder (./dev-pki unless --dev-pki says otherwise).
[server]
drain_timeout = "5s"

[admin]
listen = "127.0.0.1:9901"    # /metrics /healthz /readyz /certs

[log]
access = "stdout"

[[listener]]
name = "dev"
listen = ")") + kDefaultListen + R"("
mode = "http"                # requests, with the client's identity in headers
handshake_timeout = "10s"
idle_timeout = "5m"

  [listener.tls]
  certificates = [ { cert = "server.pem", key = "server.key" } ]
  min_version = "1.2"
  client_ca = "root.pem"
  client_intermediates = "intermediate.pem"
  verify = "require"
  verify_depth = 1

  [[listener.route]]
  upstream = "whoami"

[[upstream]]
name = "whoami"
endpoints = ["builtin:whoami"]
)";
}

}  // namespace gatehouse::proxy
