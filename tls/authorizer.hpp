// The seam between the handshake and the policy: after a client's chain verified, the TLS layer
// asks an Authorizer (the listener's routes, in policy/) whether this identity may go on, so a
// refusal is a TLS alert in the handshake itself. tls/ knows only this interface.
#pragma once

#include <string>
#include <string_view>

#include "common/reason.hpp"
#include "tls/identity.hpp"

namespace gatehouse::tls {

struct Authorization {
  bool allowed = false;
  Reason reason = Reason::policy_denied;
  std::string detail;  // plain words for a refusal
  std::string rule;    // what decided, for the log
  int route = -1;      // index of the chosen route
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Authorization authorize(const PeerIdentity& identity, std::string_view sni) const = 0;
};

}  // namespace gatehouse::tls
