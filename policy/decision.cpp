#include "policy/decision.hpp"

namespace gatehouse::policy {

Decision RoutePolicy::decide(const tls::PeerIdentity& identity) const {
  // A certificate without any subject or SAN identifies nobody; refuse it.
  if (identity.subject.empty() && identity.dns.empty() && identity.uri.empty() && identity.email.empty() &&
      identity.ip.empty())
    return {false, tls::Reason::policy_denied, ""};
  return {true, tls::Reason::ok, "verified-by-private-root"};
}

}  // namespace gatehouse::policy
