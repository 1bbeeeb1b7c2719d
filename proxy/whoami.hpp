// The built-in `whoami` upstream: answers an HTTP request with the identity Gatehouse verified,
// so a newcomer sees at once what an upstream would be told. Text by default, JSON on request.
#pragma once

#include <asio/awaitable.hpp>
#include <string>

#include "conf/settings.hpp"
#include "tls/identity.hpp"
#include "tls/stream.hpp"

namespace gatehouse::proxy {

struct WhoamiResult {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::string close;
};

std::string whoami_body(const tls::PeerIdentity& id, const std::string& tls_version, const std::string& cipher,
                        bool json);

// Serves one request and closes (Connection: close), within `idle_timeout`.
asio::awaitable<WhoamiResult> serve_whoami(tls::Stream& client, const tls::PeerIdentity& identity,
                                           conf::Duration idle_timeout);

}  // namespace gatehouse::proxy
