// accept_proxy_protocol: before the TLS handshake, read a PROXY v1/v2 header sent by a trusted
// L4 load balancer, so logs, headers and policy see the real client address. A TLS client
// never starts with 'P' or CR, so one peeked byte tells whether a header is coming; a header
// from any other source is refused.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/reason.hpp"
#include "conf/settings.hpp"

namespace gatehouse::proxy {

struct ProxyHeaderOutcome {
  bool ok = true;
  std::optional<asio::ip::tcp::endpoint> client;  // the address the header gave
  std::string error;                              // why the connection is refused
  // Not ok, and not a byte came: the client left (client_closed) or said nothing within the
  // handshake timeout (handshake_timeout). No header was refused: the connection ends as it
  // would have in the handshake without accept_proxy_protocol (a load balancer's TCP health
  // check connects and closes: it is no refusal). Also server_closed, whatever came: Gatehouse
  // cut the header short (a drain's deadline, max_connection_age), which refuses nothing either.
  std::optional<Reason> nothing_came;
};

asio::awaitable<ProxyHeaderOutcome> read_proxy_header(asio::ip::tcp::socket& socket,
                                                      const std::vector<conf::Network>& trusted,
                                                      conf::Duration timeout);

}  // namespace gatehouse::proxy
