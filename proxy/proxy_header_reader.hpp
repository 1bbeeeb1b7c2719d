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

#include "conf/settings.hpp"

namespace gatehouse::proxy {

struct ProxyHeaderOutcome {
  bool ok = true;
  std::optional<asio::ip::tcp::endpoint> client;  // the address the header gave
  std::string error;                              // why the connection is refused
};

asio::awaitable<ProxyHeaderOutcome> read_proxy_header(asio::ip::tcp::socket& socket,
                                                      const std::vector<conf::Network>& trusted,
                                                      conf::Duration timeout);

}  // namespace gatehouse::proxy
