// Who may use one route: `deny` rules win over `allow` rules; with no `allow` rules every client
// whose certificate verified against the listener's private root is admitted.
//
// Rules with `path` or `methods` (http mode) are judged per request. At the handshake only the
// rules without them decide for good; a certificate that no allow rule of any kind could admit
// is refused there as before. For the connections it admits, gate() picks once the rules whose
// identity part matched, so each request compares only its method and path.
#pragma once

#include <string>
#include <string_view>
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

// What one request is, as the rules see it: its method and its normalized path's segments.
struct RequestFacts {
  std::string_view method;
  const std::vector<std::string_view>& path_segments;
};

// One request's verdict; `rule` points into the compiled policy (it outlives the connection).
struct RequestVerdict {
  bool allowed = false;
  std::string_view rule;
};

// The per-request part of a policy for one admitted identity. Empty (needed() false) when the
// route has no rule with request conditions: then the handshake's decision stands for every request.
class RequestGate {
 public:
  bool needed() const { return needed_; }
  bool needs_path() const { return needs_path_; }
  bool needs_method() const { return needs_method_; }
  RequestVerdict judge(const RequestFacts& request) const;

 private:
  friend class RoutePolicy;
  std::vector<const Rule*> deny_;   // conditional deny rules whose identity part matched
  std::vector<const Rule*> allow_;  // allow rules whose identity part matched, in file order
  bool open_ = false;               // the route has no allow rules at all
  bool needed_ = false, needs_path_ = false, needs_method_ = false;
};

class RoutePolicy {
 public:
  RoutePolicy() = default;
  RoutePolicy(std::vector<Rule> allow, std::vector<Rule> deny);
  // At the handshake: refused only when no request could ever be allowed.
  Decision decide(const tls::PeerIdentity& identity) const;
  RequestGate gate(const tls::PeerIdentity& identity) const;
  bool per_request() const { return per_request_; }  // some rule has path or methods
  // Every allow and deny rule the same, in the same order (a reload's comparison).
  bool same_rules(const RoutePolicy& other) const;
  bool judges_paths() const { return judges_paths_; }
  bool judges_methods() const { return judges_methods_; }

 private:
  std::vector<Rule> allow_;
  std::vector<Rule> deny_;
  bool per_request_ = false, judges_paths_ = false, judges_methods_ = false;
};

}  // namespace gatehouse::policy
