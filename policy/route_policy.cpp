#include "policy/route_policy.hpp"

namespace gatehouse::policy {

Decision RoutePolicy::decide(const tls::PeerIdentity& identity) const {
  for (const auto& rule : deny_)
    if (rule.matches(identity)) return {false, tls::Reason::policy_denied, rule.label()};
  if (allow_.empty()) return {true, tls::Reason::ok, "any verified client"};
  for (const auto& rule : allow_)
    if (rule.matches(identity)) return {true, tls::Reason::ok, rule.label()};
  return {false, tls::Reason::policy_denied, "no allow rule matched"};
}

}  // namespace gatehouse::policy
