// `gatehouse verify -c gatehouse.toml [--listener NAME] [--sni NAME] CERT`: a certificate judged
// exactly as a configured listener would judge it in a handshake (its CAs, intermediates, CRLs,
// depth, routes and rules), with the reason keyword and words of the access log.
#pragma once

#include <string>

namespace gatehouse::app {

struct ListenerVerifyRequest {
  std::string config;    // the proxy's config file
  std::string listener;  // empty: the config's only listener
  std::string sni;       // the name the client would ask for (chooses the route)
  std::string cert;      // PEM: the certificate, then the intermediates the client would send
  bool json = false;
};

// 0: the listener would admit it; 1: it would refuse it (the reason printed); 2: bad input.
int verify_as_listener(const ListenerVerifyRequest& request);

}  // namespace gatehouse::app
