// Who may use one route: `deny` rules win over `allow` rules; with no `allow` rules every client
// whose certificate verified against the listener's private root is admitted.
#pragma once

#include <string>
#include <vector>

#include "common/reason.hpp"
#include "policy/rule.hpp"
#include "tls/identity.hpp"

namespace gatehouse::policy {

struct Decision {
  bool allowed = false;
  gatehouse::Reason reason = gatehouse::Reason::policy_denied;  // ok when allowed
  std::string rule;  // the rule that decided: "allow[1]", "deny[0]", "any verified client", "no allow rule matched"
};

class RoutePolicy {
 public:
  RoutePolicy() = default;
  RoutePolicy(std::vector<Rule> allow, std::vector<Rule> deny) : allow_(std::move(allow)), deny_(std::move(deny)) {}
  Decision decide(const tls::PeerIdentity& identity) const;

 private:
  std::vector<Rule> allow_;
  std::vector<Rule> deny_;
};

}  // namespace gatehouse::policy
