#include "app/default_config.hpp"

#include "tls/pki/dev_pki.hpp"

namespace gatehouse::app {

std::string default_config_text() {
  return R"(# Gatehouse's embedded default: `gatehouse run` with no config file.
# Paths are relative to the dev PKI folder (./dev-pki unless --dev-pki says otherwise).
[server]
drain_timeout = "5s"

[admin]
listen = ")" +
         std::string(tls::pki::kDevAdminAddress) + R"("    # /metrics /healthz /readyz /certs /crl/

[log]
access = "stdout"

[[listener]]
name = "dev"
listen = ")" +
         std::string(kDefaultListen) + R"("
mode = "http"                # requests, with the client's identity in headers
handshake_timeout = "10s"
idle_timeout = "5m"

  [listener.tls]
  certificates = [ { cert = "server.pem", key = "server.key" } ]
  min_version = "1.2"
  client_ca = "root.pem"
  client_intermediates = "intermediate.pem"
  crl = "crl.pem"              # the dev CAs' CRLs, also served at /crl/ on the admin listener
  verify = "require"
  verify_depth = 1

  [[listener.route]]
  upstream = "whoami"

[[upstream]]
name = "whoami"
endpoints = ["builtin:whoami"]
)";
}

}  // namespace gatehouse::app
