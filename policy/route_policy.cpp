#include "policy/route_policy.hpp"

namespace gatehouse::policy {

Decision RoutePolicy::decide(const tls::PeerIdentity& identity) const {
  for (const auto& rule : deny_)
    if (rule.matches(identity)) return {false, gatehouse::Reason::policy_denied, rule.label()};
  if (allow_.empty()) return {true, gatehouse::Reason::ok, "any verified client"};
  for (const auto& rule : allow_)
    if (rule.matches(identity)) return {true, gatehouse::Reason::ok, rule.label()};
  return {false, gatehouse::Reason::policy_denied, "no allow rule matched"};
}

}  // namespace gatehouse::policy
