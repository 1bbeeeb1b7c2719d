// The built-in `whoami` upstream: answers an HTTP request with the identity Gatehouse verified,
// so a newcomer sees at once what an upstream would be told. Text by default, JSON on request.
#pragma once

#include <asio/awaitable.hpp>
#include <string>
#include <utility>
#include <vector>

#include "conf/settings.hpp"
#include "proxy/close_reason.hpp"
#include "tls/identity.hpp"
#include "tls/stream.hpp"
#include "tls/verdict.hpp"

namespace gatehouse::proxy {

struct WhoamiResult {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  Close close = Close::done;
};

std::string whoami_body(const tls::PeerIdentity& id, const std::string& tls_version, const std::string& cipher,
                        bool json);

// In http mode whoami is an upstream like any other: it shows the request headers Gatehouse
// sent it (identity headers included), so the demo shows what a real upstream receives.
using HeaderList = std::vector<std::pair<std::string, std::string>>;
std::string whoami_http_body(const tls::PeerIdentity& id, const std::string& tls_version, const std::string& cipher,
                             const HeaderList& received, bool json);

// tcp mode: serves one request and closes (Connection: close), within `idle_timeout`.
asio::awaitable<WhoamiResult> serve_whoami(tls::Stream& client, const tls::PeerIdentity& identity,
                                           const tls::SessionFacts& session, conf::Duration idle_timeout);

}  // namespace gatehouse::proxy
