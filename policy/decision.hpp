// Authorization of a verified client on a route. Sees only the PeerIdentity value.
#pragma once

#include <string>

#include "tls/identity.hpp"
#include "tls/reason.hpp"

namespace gatehouse::policy {

struct Decision {
  bool allowed = false;
  tls::Reason reason = tls::Reason::policy_denied;  // ok when allowed
  std::string rule;                                 // what admitted, for the log
};

// The rules of one route. With no `allow` rules, every client whose certificate verified
// against the listener's private root is admitted: that is the promise of a private root.
class RoutePolicy {
 public:
  Decision decide(const tls::PeerIdentity& identity) const;
};

}  // namespace gatehouse::policy
