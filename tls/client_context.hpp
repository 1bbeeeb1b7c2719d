// TLS from Gatehouse to an upstream: verifies the upstream's certificate against the configured
// CA only (never the system store), checks its name, and presents Gatehouse's own client
// certificate to upstreams that require mTLS.
#pragma once

#include <memory>
#include <string>

#include "common/result.hpp"
#include "conf/diagnostics.hpp"
#include "conf/settings.hpp"
#include "tls/bssl.hpp"
#include "tls/stream.hpp"

namespace gatehouse::tls {

class ClientContext {
 public:
  // ALPN offers what `protocol` speaks ("h2" or "http/1.1"); the upstream's choice is checked
  // after the handshake (UpstreamLink).
  static std::unique_ptr<ClientContext> create(const conf::UpstreamTlsSettings& settings,
                                               conf::UpstreamProtocol protocol, const std::string& file,
                                               conf::Diagnostics& problems);
  // A client-side SSL for one connection to `host` (a DNS name or an IP address), unless
  // server_name was configured, which then wins. A failure when the name cannot be set (never
  // an SSL that would skip the name check).
  Result<bssl::UniquePtr<SSL>> new_ssl(const std::string& host) const;
  // Why a handshake on `stream` failed, in plain words: the certificate check's verdict when it
  // refused the upstream, otherwise the TLS error.
  static std::string failure_detail(const Stream& stream);
  // The protocol ALPN chose on a finished handshake ("" when none), and whether a failed one
  // ended with the upstream's no_application_protocol alert (it speaks none of ours).
  static std::string chosen_protocol(const Stream& stream);
  static bool refused_our_protocols(const Stream& stream);

 private:
  bssl::UniquePtr<SSL_CTX> ctx_;
  std::string server_name_;
};

}  // namespace gatehouse::tls
